/**
 * ForkProof, wire version 1: two validly signed heads of one chain at one
 * length with different roots — proof that the custodian signed two
 * histories. Heads of different lengths that cannot both be true are a
 * version 2 proof (consistency-fork-proof.ts); both kinds are gossiped,
 * stored and flagged alike (any-fork-proof.ts).
 *
 *   { v: 1, a: SignedHead, b: SignedHead }   with a.root < b.root bytewise
 *
 * Rules (decode checks the first two, assertForkProof all three):
 * - a.key == b.key, a.length == b.length, a.root != b.root, else NOT_A_FORK
 *   (heads of different lengths are a version 2 proof's business); the fork
 *   ids may differ: healthchain chains are never truncated, so a signed
 *   truncation that rewrote history is a fork too;
 * - a.root sorts strictly before b.root, else INVALID_FIELD (field `a.root`),
 *   so one pair of heads has exactly one proof encoding;
 * - both heads verify (verifyHead), else BAD_SIGNATURE (field `a` or `b`).
 *
 * Encoded size ≤ 452 bytes, ≤ 582 with two continuation heads; the limit is 640.
 */
import { z } from 'zod'
import { equal, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { NetError } from '../errors.js'
import { compareBytes, defineCodec, versionSchema } from './codec.js'
import { assertHead, signedHeadSchema, type SignedHead } from './head.js'

export const MAX_FORK_PROOF_BYTES = 640

export const forkProofSchema = z.strictObject({
  v: versionSchema,
  a: signedHeadSchema,
  b: signedHeadSchema
})

export type ForkProof = z.output<typeof forkProofSchema>

/** NOT_A_FORK unless the heads are of one chain and one length with different roots. */
function checkForkRelation (a: SignedHead, b: SignedHead): void {
  if (!equal(a.key, b.key)) throw new NetError('NOT_A_FORK', 'the heads are of different chains')
  if (a.length !== b.length) throw new NetError('NOT_A_FORK', 'the heads are of different lengths')
  if (equal(a.root, b.root)) throw new NetError('NOT_A_FORK', 'the heads have the same root')
}

function checkForkProof (proof: ForkProof): void {
  checkForkRelation(proof.a, proof.b)
  if (compareBytes(proof.a.root, proof.b.root) > 0) {
    throw new NetError('INVALID_FIELD', 'ForkProof: a.root must sort before b.root', { field: 'a.root' })
  }
}

export const forkProofCodec = defineCodec({
  name: 'ForkProof',
  schema: forkProofSchema,
  maxBytes: MAX_FORK_PROOF_BYTES,
  check: checkForkProof
})

export function encodeForkProof (proof: ForkProof): Uint8Array {
  return forkProofCodec.encode(proof)
}

export function decodeForkProof (bytes: Uint8Array): ForkProof {
  return forkProofCodec.decode(bytes)
}

/** Throws NOT_A_FORK, INVALID_FIELD (order) or BAD_SIGNATURE unless `proof` proves a fork. */
export function assertForkProof (proof: ForkProof, crypto: CryptoProvider = sodiumProvider): void {
  forkProofCodec.parse(proof)
  assertHead(proof.a, crypto, 'a')
  assertHead(proof.b, crypto, 'b')
}

export function verifyForkProof (proof: ForkProof, crypto: CryptoProvider = sodiumProvider): boolean {
  try {
    assertForkProof(proof, crypto)
    return true
  } catch (err) {
    if (err instanceof NetError) return false
    throw err
  }
}

/** The canonical proof that two verified heads fork; throws NOT_A_FORK or BAD_SIGNATURE. */
export function makeForkProof (h1: SignedHead, h2: SignedHead, crypto: CryptoProvider = sodiumProvider): ForkProof {
  checkForkRelation(h1, h2)
  const [a, b] = compareBytes(h1.root, h2.root) < 0 ? [h1, h2] : [h2, h1]
  const proof: ForkProof = { v: 1, a, b }
  assertForkProof(proof, crypto)
  return proof
}
