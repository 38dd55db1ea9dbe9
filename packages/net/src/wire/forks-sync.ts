/**
 * Forks sync, wire version 1, protocol `/healthchain/forks-sync/1.0.0`: the
 * fork proofs a node holds, pulled in the same reconciliation as heads-sync
 * (heads-reconcile.ts), so a node that missed a proof's gossip still gets
 * it. Heads-sync carries a fork's two heads as evidence too, but two heads
 * of different lengths prove nothing without the consistency nodes, which a
 * node that holds no copy of the longer history cannot rebuild: the proof
 * itself must travel.
 *
 *   request   { v: 1, since: uint }
 *   response  { v: 1, proofs: bytes[0..16], next: uint, more: bool }
 *
 * `since` is a cursor into the responder's fork registry, in the order it
 * recorded the proofs: 0 the first time, then the previous response's
 * `next`; a cursor past the end gets everything again (the responder's
 * store is not the one the cursor came from). `more` says whether to ask
 * again at once. Each proof is the canonical encoding of a fork proof of
 * either version (any-fork-proof.ts, so at most 6 KiB: TOO_LARGE, field
 * `proofs.<i>`, over it), decoded and verified on its own by the requester:
 * a bad one is counted and skipped, the others kept. One request and one
 * response per stream, each one frame (framing.ts).
 *
 * Limits: request 64 bytes; response 128 KiB (16 proofs of 6 KiB <= 98,384
 * bytes).
 */
import { z } from 'zod'
import { uintSchema } from '@healthchain/core'
import { defineCodec, versionSchema } from './codec.js'
import { MAX_ANY_FORK_PROOF_BYTES } from './any-fork-proof.js'

export const FORKS_SYNC_PROTOCOL = '/healthchain/forks-sync/1.0.0'
export const MAX_PROOFS_PER_SYNC = 16
export const MAX_FORKS_SYNC_REQUEST_BYTES = 64
export const MAX_FORKS_SYNC_RESPONSE_BYTES = 128 * 1024

const proofBytesSchema = z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length >= 1, { message: 'expected a non-empty byte string' })
  .refine((b) => b.length <= MAX_ANY_FORK_PROOF_BYTES, { message: `a fork proof is at most ${MAX_ANY_FORK_PROOF_BYTES} bytes`, params: { code: 'TOO_LARGE' } })

export const forksSyncRequestSchema = z.strictObject({
  v: versionSchema,
  since: uintSchema
})

export const forksSyncResponseSchema = z.strictObject({
  v: versionSchema,
  proofs: z.array(proofBytesSchema).max(MAX_PROOFS_PER_SYNC),
  next: uintSchema,
  more: z.boolean()
})

export type ForksSyncRequest = z.output<typeof forksSyncRequestSchema>
export type ForksSyncResponse = z.output<typeof forksSyncResponseSchema>

export const forksSyncRequestCodec = defineCodec({ name: 'ForksSyncRequest', schema: forksSyncRequestSchema, maxBytes: MAX_FORKS_SYNC_REQUEST_BYTES })
export const forksSyncResponseCodec = defineCodec({ name: 'ForksSyncResponse', schema: forksSyncResponseSchema, maxBytes: MAX_FORKS_SYNC_RESPONSE_BYTES })

export function encodeForksSyncRequest (request: ForksSyncRequest): Uint8Array {
  return forksSyncRequestCodec.encode(request)
}

export function decodeForksSyncRequest (bytes: Uint8Array): ForksSyncRequest {
  return forksSyncRequestCodec.decode(bytes)
}

export function encodeForksSyncResponse (response: ForksSyncResponse): Uint8Array {
  return forksSyncResponseCodec.encode(response)
}

export function decodeForksSyncResponse (bytes: Uint8Array): ForksSyncResponse {
  return forksSyncResponseCodec.decode(bytes)
}
