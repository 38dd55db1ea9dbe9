/**
 * Checking a custodian's signed head and a witness's cosignature of it in a
 * browser: the same bytes and the same rules as wire/head.ts and
 * wire/cosignature.ts, computed with @noble/hashes (BLAKE2b) and core's
 * byte helpers instead of Hypercore and libsodium, so a page can verify what
 * a node shows it without trusting that node. Nothing here imports a Node
 * built-in, Hypercore or sodium; signatures go through the CryptoProvider
 * given (core's `nobleProvider` in a browser).
 *
 * Hypercore's layouts, reproduced (hypercore 11, lib/caps.js and
 * lib/verifier.js; the tests hold them byte for byte against the originals):
 *
 *   ns(i)            = BLAKE2b-256( BLAKE2b-256("hypercore") ‖ byte i )   i: 0 tree, 3 manifest, 4 default namespace
 *   manifest (v1)    = 01 00 00 01 01 00 ‖ ns(4) ‖ signer                 version, flags, blake2b, quorum 1, one signer: ed25519
 *   core key         = BLAKE2b-256( ns(3) ‖ manifest )
 *   tree signable    = ns(0) ‖ key ‖ root ‖ u64le(length) ‖ u64le(fork)    112 bytes, what the head's signature covers
 *
 * A cosignature covers core's signingMessage(domainTag("healthchain/v1/cosign"),
 * { chainKey: key, seq: length }, root ‖ u64be(fork)).
 */
import { blake2b } from '@noble/hashes/blake2.js'
import { CoreError, assertBytes, concatBytes, domainTag, equal, fromHex, signingMessage, u64be, type CryptoProvider } from '@healthchain/core'

/** A signed head's fields as bytes (wire/head.ts's SignedHead without its version). */
export interface HeadFields {
  readonly key: Uint8Array
  readonly signer: Uint8Array
  readonly length: number
  readonly fork: number
  readonly root: Uint8Array
  readonly sig: Uint8Array
}

/** A cosignature's fields (wire/cosignature.ts's Cosignature without its version). */
export interface CosignatureFields {
  readonly head: HeadFields
  readonly witness: string
  readonly sig: Uint8Array
}

/** A head as the HTTP API writes it: bytes as lowercase hex. */
export interface HeadJson {
  readonly key: string
  readonly signer: string
  readonly length: number
  readonly fork: number
  readonly root: string
  readonly sig: string
}

export interface CosignatureJson {
  readonly head: HeadJson
  readonly witness: string
  readonly sig: string
}

const blake256 = (data: Uint8Array): Uint8Array => blake2b(data, { dkLen: 32 })

/** Hypercore's namespace hashes (hypercore-crypto's `namespace('hypercore', 6)`): tree, manifest, default namespace. */
const NAMESPACE = blake256(new TextEncoder().encode('hypercore'))
const ns = (i: number): Uint8Array => blake256(concatBytes(NAMESPACE, Uint8Array.of(i)))
const TREE = ns(0)
const MANIFEST = ns(3)
const DEFAULT_NAMESPACE = ns(4)

const COSIGN_DOMAIN_BYTES = domainTag('healthchain/v1/cosign')

function u64le (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CoreError('INVALID_FIELD', `expected a non-negative safe integer, got ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true)
  return out
}

function bytes32 (b: Uint8Array, field: string): Uint8Array {
  assertBytes(b, 32, field)
  return b
}

/** The key of the Hypercore whose one (version 1, default-namespace) manifest signer is `signer`: what binds a head's signer to its chain. */
export function coreKeyOfSigner (signer: Uint8Array): Uint8Array {
  const manifest = concatBytes(Uint8Array.of(1, 0, 0, 1, 1, 0), DEFAULT_NAMESPACE, bytes32(signer, 'signer'))
  return blake256(concatBytes(MANIFEST, manifest))
}

/** The 112 bytes a head's signature covers (Hypercore's treeSignable). */
export function headSignable (head: Pick<HeadFields, 'key' | 'root' | 'length' | 'fork'>): Uint8Array {
  return concatBytes(TREE, bytes32(head.key, 'key'), bytes32(head.root, 'root'), u64le(head.length), u64le(head.fork))
}

/** The 102 bytes a witness signs for `head`. */
export function cosignMessage (head: Pick<HeadFields, 'key' | 'root' | 'length' | 'fork'>): Uint8Array {
  return signingMessage(COSIGN_DOMAIN_BYTES, { chainKey: head.key, seq: head.length }, concatBytes(head.root, u64be(head.fork)))
}

/** Whether `head` is valid for its chain: the signer owns the key, and the signature verifies. Never throws. */
export function verifyHead (head: HeadFields, crypto: CryptoProvider): boolean {
  try {
    if (!Number.isSafeInteger(head.length) || head.length < 1 || head.sig.length !== 64) return false
    return equal(coreKeyOfSigner(head.signer), head.key) && crypto.verify(headSignable(head), head.sig, head.signer)
  } catch {
    return false
  }
}

/**
 * Whether `c` is a valid cosignature, by the witness whose signing key is
 * `witnessPublicKey` (take it from the registry for `c.witness`), of a head
 * that itself verifies. Never throws.
 */
export function verifyCosignature (c: CosignatureFields, witnessPublicKey: Uint8Array, crypto: CryptoProvider): boolean {
  try {
    return verifyHead(c.head, crypto) && c.sig.length === 64 && crypto.verify(cosignMessage(c.head), c.sig, witnessPublicKey)
  } catch {
    return false
  }
}

/** A head from the API's JSON (hex) as bytes; core's INVALID_FIELD naming the field if a value is not hex of its size. */
export function headFromJson (json: HeadJson): HeadFields {
  return {
    key: fromHex(json.key, 32, 'key'),
    signer: fromHex(json.signer, 32, 'signer'),
    length: json.length,
    fork: json.fork,
    root: fromHex(json.root, 32, 'root'),
    sig: fromHex(json.sig, 64, 'sig')
  }
}

export function cosignatureFromJson (json: CosignatureJson): CosignatureFields {
  return { head: headFromJson(json.head), witness: json.witness, sig: fromHex(json.sig, 64, 'sig') }
}
