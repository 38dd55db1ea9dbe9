/**
 * Hypercore's signed head, checked without Hypercore: the same bytes its
 * lib/caps.js and lib/verifier.js compute (hypercore 11), with BLAKE2b from
 * @noble/hashes, so a browser and the migrate entry's check use one copy.
 * packages/net/test/browser-head-check.test.ts holds them byte for byte
 * against Hypercore's own on real cores.
 *
 *   ns(i)            = BLAKE2b-256( BLAKE2b-256("hypercore") ‖ byte i )   i: 0 tree, 3 manifest, 4 default namespace
 *   manifest (v1)    = 01 00 00 01 01 00 ‖ ns(4) ‖ signer                 version, flags, blake2b, quorum 1, one signer: ed25519
 *   with a prologue  = 01 02 00 01 01 00 ‖ ns(4) ‖ signer ‖ hash ‖ uint(length)   flags bit 1; uint is compact-encoding's
 *   core key         = BLAKE2b-256( ns(3) ‖ manifest )
 *   tree signable    = ns(0) ‖ key ‖ root ‖ u64le(length) ‖ u64le(fork)    112 bytes, what a head's signature covers
 *
 * Only single-signer version-1 manifests are recognised: what Corestore makes
 * for a named core (coreKeyOfSigner: every user chain enrolled), and the same
 * with a prologue, a continuation core's (coreKeyOfManifest covers both).
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
  return coreKeyOfManifest({ signer })
}

/** A manifest prologue: the first `length` blocks are the ones whose tree hash is `hash` (a continuation core's copied history). */
export interface Prologue {
  readonly hash: Uint8Array
  readonly length: number
}

/** compact-encoding's uint: one byte below 0xfd, else a marker and 2, 4 or 8 little-endian bytes. */
function compactUint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CoreError('INVALID_FIELD', `expected a non-negative safe integer, got ${n}`)
  if (n < 0xfd) return Uint8Array.of(n)
  const [marker, size] = n <= 0xffff ? [0xfd, 2] : n <= 0xffffffff ? [0xfe, 4] : [0xff, 8]
  const out = new Uint8Array(1 + size)
  out[0] = marker
  let rest = BigInt(n)
  for (let i = 1; i <= size; i++) { out[i] = Number(rest & 0xffn); rest >>= 8n }
  return out
}

/**
 * The key of the Hypercore whose version-1 manifest has the one signer
 * `signer` and, for a continuation core, `prologue`: what the ledger creates
 * for a user chain (no prologue) and for its continuation (Hypercore.key of
 * `{ version: 1, signers: [{ publicKey: signer }], prologue }`).
 */
export function coreKeyOfManifest (manifest: { readonly signer: Uint8Array, readonly prologue?: Prologue }): Uint8Array {
  assertBytes(manifest.signer, 32, 'signer')
  const { prologue } = manifest
  if (prologue === undefined) return blake256(concatBytes(MANIFEST, Uint8Array.of(1, 0, 0, 1, 1, 0), DEFAULT_NAMESPACE, manifest.signer))
  assertBytes(prologue.hash, 32, 'prologue.hash')
  return blake256(concatBytes(MANIFEST, Uint8Array.of(1, 2, 0, 1, 1, 0), DEFAULT_NAMESPACE, manifest.signer, prologue.hash, compactUint(prologue.length)))
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
  /** The core's manifest prologue, for a continuation core (its key is then coreKeyOfManifest's with it). */
  readonly prologue?: Prologue
  readonly length: number
  readonly fork: number
  readonly root: Uint8Array
  readonly sig: Uint8Array
}

/** Why `head` does not verify (`signer` or `sig`), or undefined if it does. Never throws. */
export function treeHeadProblem (head: TreeHead, crypto: CryptoProvider): 'signer' | 'sig' | undefined {
  try {
    if (!Number.isSafeInteger(head.length) || head.length < 1) return 'sig'
    const manifest = head.prologue === undefined ? { signer: head.signer } : { signer: head.signer, prologue: head.prologue }
    if (!equal(coreKeyOfManifest(manifest), head.key)) return 'signer'
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
