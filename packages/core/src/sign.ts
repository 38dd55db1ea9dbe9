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

export function signEntry (entry: UnsignedEntry, slot: Slot, secretKey: Uint8Array, crypto: CryptoProvider): Entry {
  assertBytes(secretKey, 64, 'secretKey')
  const sig = crypto.sign(entrySigningMessage(entry, slot), secretKey)
  return withSignature(entry, sig)
}

export function verifyEntrySignature (entry: Entry, slot: Slot, publicKey: Uint8Array, crypto: CryptoProvider): boolean {
  // The entry itself keys the body cache when it was decoded or signed here.
  return crypto.verify(entrySigningMessage(entry, slot), entry.sig, publicKey)
}

/** Like verifyEntrySignature, but throws BAD_SIGNATURE. */
export function assertEntrySignature (entry: Entry, slot: Slot, publicKey: Uint8Array, crypto: CryptoProvider): void {
  if (!verifyEntrySignature(entry, slot, publicKey, crypto)) {
    throw new CoreError('BAD_SIGNATURE', `author signature of entry ${slot.seq} does not verify`)
  }
}
