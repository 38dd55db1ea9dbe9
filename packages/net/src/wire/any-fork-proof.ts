/**
 * Fork proofs of either kind, as the forks topic (`/healthchain/forks/1`),
 * forks-sync and the fork registry carry them. The version `v` tells them
 * apart, and each is decoded by its own codec, with its own size limit:
 *
 *   v: 1   ForkProof             two roots at one length          fork-proof.ts              <= 512 bytes
 *   v: 2   ConsistencyForkProof  two lengths that disagree        consistency-fork-proof.ts  <= 6 KiB
 *   v: 3   MoveForkProof         a moved chain written against    move-fork-proof.ts         <= 6 KiB
 *
 * Any other number is UNSUPPORTED_VERSION (field `v`), a missing or
 * non-number `v` INVALID_FIELD (`v`), bytes that are not one canonical CBOR
 * map MALFORMED, more than 6 KiB TOO_LARGE. Either kind names its chain as
 * `a.key`, and `a.length` is a length at which the custodian's two histories
 * differ (the one length of a version 1 proof; the shorter head of a
 * version 2 proof; N, where the chain moved from, of a version 3 proof).
 */
import { decodeCanonical, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { NetError } from '../errors.js'
import type { Codec } from './codec.js'
import {
  CONSISTENCY_FORK_PROOF_VERSION, MAX_CONSISTENCY_FORK_PROOF_BYTES, assertConsistencyForkProof, consistencyForkProofCodec,
  type ConsistencyForkProof
} from './consistency-fork-proof.js'
import { assertForkProof, forkProofCodec, type ForkProof } from './fork-proof.js'
import { MOVE_FORK_PROOF_VERSION, assertMoveForkProof, moveForkProofCodec, type MoveForkProof } from './move-fork-proof.js'

export type AnyForkProof = ForkProof | ConsistencyForkProof | MoveForkProof

export const MAX_ANY_FORK_PROOF_BYTES = MAX_CONSISTENCY_FORK_PROOF_BYTES

const NAME = 'AnyForkProof'

/** The codec for version `v`, or a NetError saying why there is none. */
function codecFor (v: unknown): Codec<AnyForkProof> {
  if (v === 1) return forkProofCodec as Codec<AnyForkProof>
  if (v === CONSISTENCY_FORK_PROOF_VERSION) return consistencyForkProofCodec as Codec<AnyForkProof>
  if (v === MOVE_FORK_PROOF_VERSION) return moveForkProofCodec as Codec<AnyForkProof>
  if (typeof v === 'number') throw new NetError('UNSUPPORTED_VERSION', `fork proof version ${v} is not supported (expected 1, 2 or 3)`, { field: 'v' })
  throw new NetError('INVALID_FIELD', `${NAME}: v: expected a number`, { field: 'v' })
}

function versionOf (value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new NetError('MALFORMED', `${NAME} is a map`)
  }
  return (value as { v?: unknown }).v
}

export const anyForkProofCodec: Codec<AnyForkProof> = {
  name: NAME,
  maxBytes: MAX_ANY_FORK_PROOF_BYTES,
  parse (value) {
    return codecFor(versionOf(value)).parse(value)
  },
  encode (proof) {
    return codecFor(versionOf(proof)).encode(proof)
  },
  decode (bytes) {
    if (!(bytes instanceof Uint8Array)) throw new NetError('MALFORMED', `${NAME}: expected bytes`)
    if (bytes.length > MAX_ANY_FORK_PROOF_BYTES) throw new NetError('TOO_LARGE', `${NAME} is ${bytes.length} bytes, the limit is ${MAX_ANY_FORK_PROOF_BYTES}`)
    let value: unknown
    try {
      value = decodeCanonical(bytes)
    } catch (cause) {
      throw new NetError('MALFORMED', `${NAME} is not canonical CBOR`, { cause })
    }
    // The version's own codec decodes again: its size limit and its error names apply.
    return codecFor(versionOf(value)).decode(bytes)
  }
}

export function encodeAnyForkProof (proof: AnyForkProof): Uint8Array {
  return anyForkProofCodec.encode(proof)
}

export function decodeAnyForkProof (bytes: Uint8Array): AnyForkProof {
  return anyForkProofCodec.decode(bytes)
}

/** Throws (NOT_A_FORK, INVALID_FIELD, BAD_PROOF, BAD_SIGNATURE, …) unless `proof` proves a fork, whichever its kind. */
export function assertAnyForkProof (proof: AnyForkProof, crypto: CryptoProvider = sodiumProvider): void {
  if (proof.v === CONSISTENCY_FORK_PROOF_VERSION) assertConsistencyForkProof(proof, crypto)
  else if (proof.v === MOVE_FORK_PROOF_VERSION) assertMoveForkProof(proof, crypto)
  else assertForkProof(proof as ForkProof, crypto)
}

export function verifyAnyForkProof (proof: AnyForkProof, crypto: CryptoProvider = sodiumProvider): boolean {
  try {
    assertAnyForkProof(proof, crypto)
    return true
  } catch (err) {
    if (err instanceof NetError) return false
    throw err
  }
}
