/**
 * Hypercore's signed head, checked without Hypercore: the same bytes its
 * lib/caps.js and lib/verifier.js compute (hypercore 11), with BLAKE2b from
 * @noble/hashes, so a browser and the migrate entry's check use one copy.
 * packages/net/test/browser-head-check.test.ts holds them byte for byte
 * against Hypercore's own on real cores.
 *
 *   ns(i)            = BLAKE2b-256( BLAKE2b-256("hypercore") ‖ byte i )   i: 0 tree, 3 manifest, 4 default namespace
 *   manifest (v1)    = 01 00 00 01 01 00 ‖ ns(4) ‖ signer                 version, flags, blake2b, quorum 1, one signer: ed25519
 *   core key         = BLAKE2b-256( ns(3) ‖ manifest )
 *   tree signable    = ns(0) ‖ key ‖ root ‖ u64le(length) ‖ u64le(fork)    112 bytes, what a head's signature covers
 *
 * Only single-signer version-1 manifests (what Corestore makes for a named
 * core, so every user chain enrolled so far) are recognised by
 * coreKeyOfSigner; a continuation core's manifest has a prologue and is not.
 */
import { blake2b } from '@noble/hashes/blake2.js'
import { assertBytes, concatBytes, equal, utf8ToBytes } from './bytes.js'
import { CoreError } from './errors.js'
import type { CryptoProvider } from './crypto/provider.js'

const blake256 = (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 })

/** Hypercore's namespace hashes (hypercore-crypto's `namespace('hypercore', 6)`): tree, manifest, default namespace. */
const NAMESPACE = blake256(utf8ToBytes('hypercore'))
const ns = (i: number): Uint8Array => blake256(concatBytes(NAMESPACE, Uint8Array.of(i)))
const TREE = ns(0)
const MANIFEST = ns(3)
const DEFAULT_NAMESPACE = ns(4)

function u64le (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CoreError('INVALID_FIELD', `expected a non-negative safe integer, got ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true)
  return out
}

/** The key of the Hypercore whose one (version 1, default-namespace) manifest signer is `signer`: what binds a head's signer to its chain. */
export function coreKeyOfSigner (signer: Uint8Array): Uint8Array {
  assertBytes(signer, 32, 'signer')
  return blake256(concatBytes(MANIFEST, Uint8Array.of(1, 0, 0, 1, 1, 0), DEFAULT_NAMESPACE, signer))
}

/** The 112 bytes a head's signature covers (Hypercore's caps.treeSignable): `root` is the tree hash at `length`. */
export function treeSignable (key: Uint8Array, root: Uint8Array, length: number, fork: number): Uint8Array {
  assertBytes(key, 32, 'key')
  assertBytes(root, 32, 'root')
  return concatBytes(TREE, key, root, u64le(length), u64le(fork))
}

/** A Hypercore head: the core, its signer, the tree hash `root` at `length`, and the signer's signature. */
export interface TreeHead {
  readonly key: Uint8Array
  readonly signer: Uint8Array
  readonly length: number
  readonly fork: number
  readonly root: Uint8Array
  readonly sig: Uint8Array
}

/** Why `head` does not verify (`signer` or `sig`), or undefined if it does. Never throws. */
export function treeHeadProblem (head: TreeHead, crypto: CryptoProvider): 'signer' | 'sig' | undefined {
  try {
    if (!Number.isSafeInteger(head.length) || head.length < 1) return 'sig'
    if (!equal(coreKeyOfSigner(head.signer), head.key)) return 'signer'
    if (!(head.sig instanceof Uint8Array) || head.sig.length !== 64) return 'sig'
    return crypto.verify(treeSignable(head.key, head.root, head.length, head.fork), head.sig, head.signer) ? undefined : 'sig'
  } catch {
    return 'sig'
  }
}

/** Whether `head` is valid for its core: the signer owns the key, and the signature verifies (libsodium's rule). Never throws. */
export function verifyTreeHead (head: TreeHead, crypto: CryptoProvider): boolean {
  return treeHeadProblem(head, crypto) === undefined
}
