/**
 * Moving a user's chain, wire version 1, protocol
 * `/healthchain/continuation/1.0.0`: a user's light peer asks the examiner
 * node it moves to for the offer (the continuation core's key, N and the
 * migrate plain segment to sign), then sends the migrate it signed. One
 * request and one response per stream, each one frame (framing.ts).
 *
 *   request   { v: 1, op: 'offer' }
 *           | { v: 1, op: 'continue', block: bytes[1..MAX_ENTRY_BYTES] }
 *   response  { v: 1, ok: true, op: 'offer', key: bytes32, length: uint ≥ 1, plain: MigratePlain }
 *           | { v: 1, ok: true, op: 'continue', key: bytes32, length: uint ≥ 1 }
 *           | { v: 1, ok: false, code: RefusalCode, message: text[1..200] }
 *
 * As for my-chain, no request names a user or a chain: the asker is the
 * connection's authenticated peer, whose libp2p identity is the user's
 * signing key, so a node only ever moves the chain of the user at the
 * other end.
 *
 * - offer: `key` the continuation core's key, `length` N (where the held
 *   chain is closed and the migrate stands), `plain` the migrate's plain
 *   segment (core's migratePlainSchema, strict). The asker checks it
 *   against its own chain before it signs (checkMigrate, its head, `to`).
 * - continue: `block` the encoded migrate entry, signed by the user for
 *   (key, N); the answer names the continuation core and its length.
 * - refused: a stable code (NOT_ADMITTED for anyone but a light peer of a
 *   user held here, NOT_CUSTODIAN for a node that is no examiner, the
 *   ledger's codes: MISSING_BLOCK, INVALID_FIELD, ALREADY_ENROLLED for a
 *   second migrate from one head, AUTHOR_SUSPENDED…), a short text without
 *   data.
 *
 * Limits: request MAX_ENTRY_BYTES + 64 bytes, response 8 KiB (an offer
 * with 32 lineage links is under 4 KiB).
 */
import { z } from 'zod'
import { key32Schema, MAX_ENTRY_BYTES, migratePlainSchema, textSchema, uintSchema } from '@healthchain/core'
import { refusalCodeSchema } from '../refusals.js'
import { defineCodec, versionSchema } from './codec.js'

export const CONTINUATION_PROTOCOL = '/healthchain/continuation/1.0.0'
export const MAX_CONTINUATION_REQUEST_BYTES = MAX_ENTRY_BYTES + 64
export const MAX_CONTINUATION_RESPONSE_BYTES = 8 * 1024
export const MAX_CONTINUATION_MESSAGE_CHARS = 200

const blockSchema = z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length >= 1, { message: 'expected a non-empty byte string' })
  .refine((b) => b.length <= MAX_ENTRY_BYTES, { message: `a block is at most ${MAX_ENTRY_BYTES} bytes`, params: { code: 'TOO_LARGE' } })

export const continuationRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ v: versionSchema, op: z.literal('offer') }),
  z.strictObject({ v: versionSchema, op: z.literal('continue'), block: blockSchema })
])

export const continuationResponseSchema = z.union([
  z.strictObject({ v: versionSchema, ok: z.literal(true), op: z.literal('offer'), key: key32Schema, length: uintSchema.min(1), plain: migratePlainSchema }),
  z.strictObject({ v: versionSchema, ok: z.literal(true), op: z.literal('continue'), key: key32Schema, length: uintSchema.min(1) }),
  z.strictObject({ v: versionSchema, ok: z.literal(false), code: refusalCodeSchema, message: textSchema(MAX_CONTINUATION_MESSAGE_CHARS) })
])

export type ContinuationRequest = z.output<typeof continuationRequestSchema>
export type ContinuationResponse = z.output<typeof continuationResponseSchema>

export const continuationRequestCodec = defineCodec({
  name: 'ContinuationRequest', schema: continuationRequestSchema, maxBytes: MAX_CONTINUATION_REQUEST_BYTES
})
export const continuationResponseCodec = defineCodec({
  name: 'ContinuationResponse', schema: continuationResponseSchema, maxBytes: MAX_CONTINUATION_RESPONSE_BYTES
})

export function encodeContinuationRequest (request: ContinuationRequest): Uint8Array {
  return continuationRequestCodec.encode(request)
}

export function decodeContinuationRequest (bytes: Uint8Array): ContinuationRequest {
  return continuationRequestCodec.decode(bytes)
}

export function encodeContinuationResponse (response: ContinuationResponse): Uint8Array {
  return continuationResponseCodec.encode(response)
}

export function decodeContinuationResponse (bytes: Uint8Array): ContinuationResponse {
  return continuationResponseCodec.decode(bytes)
}
