/**
 * Author signatures.
 *
 * The signed message is
 *
 *   "healthchain/v1/entry" 0x00 || chain key (32) || position (u64 BE) || body
 *
 * where body is the entry's canonical CBOR without `v` and `sig`, the same
 * byte string the block carries (entry.ts), so a verifier signs-checks the
 * bytes it received without encoding anything.
 *
 * The fixed-length prefix makes the layout unambiguous; the domain tag keeps
 * these signatures apart from Hypercore's own and from registry signatures;
 * the chain key and position mean a signed entry is valid in exactly one slot
 * of exactly one chain, so it cannot be replayed anywhere else. The body does
 * not carry the block's version: the domain tag is what binds a signature to
 * wire version 1, so any later version must use a new tag.
 */
import { concatBytes, domainTag, u64be, assertBytes } from './bytes.js'
import { CoreError } from './errors.js'
import { encodeEntryBody, withSignature, type Entry, type UnsignedEntry } from './entry.js'
import type { CryptoProvider } from './crypto/provider.js'

export const ENTRY_SIGNATURE_DOMAIN = 'healthchain/v1/entry'
const ENTRY_DOMAIN_BYTES = domainTag(ENTRY_SIGNATURE_DOMAIN)

/** Where an entry sits: the chain's Hypercore key and the block index. */
export interface Slot {
  readonly chainKey: Uint8Array
  readonly seq: number
}

export function signingMessage (domain: Uint8Array, slot: Slot, body: Uint8Array): Uint8Array {
  assertBytes(slot.chainKey, 32, 'chainKey')
  return concatBytes(domain, slot.chainKey, u64be(slot.seq), body)
}

/** The exact bytes an author signs for `entry` at `slot`. */
export function entrySigningMessage (entry: UnsignedEntry | Entry, slot: Slot): Uint8Array {
  return signingMessage(ENTRY_DOMAIN_BYTES, slot, encodeEntryBody(entry))
}

/**
 * One buffer per thread for signing messages that are only passed to the
 * provider: building each in a fresh array cost an allocation and, over a
 * whole chain, garbage collection. Providers are synchronous and keep no
 * reference to a message once they return, so the buffer is reused.
 */
let scratch = new Uint8Array(4096)
let scratchView = new DataView(scratch.buffer)

/** The signing message for `body` at `slot`, in the scratch buffer: valid until the next call. */
function scratchMessage (slot: Slot, body: Uint8Array): Uint8Array {
  assertBytes(slot.chainKey, 32, 'chainKey')
  const seq = slot.seq
  if (!Number.isSafeInteger(seq) || seq < 0) throw new CoreError('INVALID_FIELD', `expected a non-negative safe integer, got ${seq}`)
  const prefix = ENTRY_DOMAIN_BYTES.length + 32 + 8
  const length = prefix + body.length
  if (scratch.length < length) {
    scratch = new Uint8Array(Math.max(length, 2 * scratch.length))
    scratchView = new DataView(scratch.buffer)
  }
  scratch.set(ENTRY_DOMAIN_BYTES, 0)
  scratch.set(slot.chainKey, ENTRY_DOMAIN_BYTES.length)
  // u64 big-endian without a BigInt: the high and low 32 bits of a safe integer.
  scratchView.setUint32(prefix - 8, Math.floor(seq / 0x1_0000_0000))
  scratchView.setUint32(prefix - 4, seq >>> 0)
  scratch.set(body, prefix)
  return scratch.subarray(0, length)
}

export function signEntry (entry: UnsignedEntry, slot: Slot, secretKey: Uint8Array, crypto: CryptoProvider): Entry {
  assertBytes(secretKey, 64, 'secretKey')
  const sig = crypto.sign(scratchMessage(slot, encodeEntryBody(entry)), secretKey)
  return withSignature(entry, sig)
}

export function verifyEntrySignature (entry: Entry, slot: Slot, publicKey: Uint8Array, crypto: CryptoProvider): boolean {
  // The entry itself keys the body cache when it was decoded or signed here.
  return verifyBodySignature(encodeEntryBody(entry), entry.sig, slot, publicKey, crypto)
}

/** Whether `sig` is the signature of `publicKey` over the signing message of `body` (an entry's body bytes, see decodeBlock) at `slot`. */
export function verifyBodySignature (body: Uint8Array, sig: Uint8Array, slot: Slot, publicKey: Uint8Array, crypto: CryptoProvider): boolean {
  return crypto.verify(scratchMessage(slot, body), sig, publicKey)
}

/** Like verifyEntrySignature, but throws BAD_SIGNATURE. */
export function assertEntrySignature (entry: Entry, slot: Slot, publicKey: Uint8Array, crypto: CryptoProvider): void {
  if (!verifyEntrySignature(entry, slot, publicKey, crypto)) {
    throw new CoreError('BAD_SIGNATURE', `author signature of entry ${slot.seq} does not verify`)
  }
}
