/**
 * One block of the fork registry's local core (`local/fork-proofs`): a fork
 * proof as kept on disk, readable by every later build.
 *
 *   record version 2   0x02 ‖ the canonical encoding of a fork proof of
 *                      either version (any-fork-proof.ts) — what is written
 *   record version 1   the bare encoding of a ForkProof v1, as builds wrote
 *                      before records carried a version — still read, never
 *                      written; its first byte is a CBOR map header
 *                      (0xa0–0xbf), which no record version will ever be
 *
 * Decoding refuses an empty block or a proof that does not decode
 * (MALFORMED, or the proof codec's own code) and a record version it does
 * not know (UNSUPPORTED_VERSION: a later build's record); the registry skips
 * such a block, as a damaged one proves nothing. A version 1 record holds a
 * version 1 proof only. Signatures are checked by the registry, not here.
 */
import { NetError } from './errors.js'
import { decodeAnyForkProof, encodeAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'

export const FORK_RECORD_VERSION = 2

function isCborMapHeader (byte: number): boolean {
  return byte >= 0xa0 && byte <= 0xbf
}

export function encodeForkRecord (proof: AnyForkProof): Uint8Array {
  const encoded = encodeAnyForkProof(proof)
  const record = new Uint8Array(1 + encoded.length)
  record[0] = FORK_RECORD_VERSION
  record.set(encoded, 1)
  return record
}

export function decodeForkRecord (bytes: Uint8Array): AnyForkProof {
  const first = bytes[0]
  if (first === undefined) throw new NetError('MALFORMED', 'an empty fork record')
  if (isCborMapHeader(first)) {
    const proof = decodeAnyForkProof(bytes)
    if (proof.v !== 1) throw new NetError('UNSUPPORTED_VERSION', 'a version 1 fork record holds a version 1 proof only')
    return proof
  }
  if (first === FORK_RECORD_VERSION) return decodeAnyForkProof(bytes.subarray(1))
  throw new NetError('UNSUPPORTED_VERSION', `fork record version ${first} is not supported (expected 1 or 2)`)
}
