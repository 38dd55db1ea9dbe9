/**
 * Append forwarding, wire version 1, protocol `/healthchain/append/1.0.0`:
 * a node forwards an author-signed entry to the chain's custodian and gets
 * back its position once it is durably appended. One request and one
 * response per stream, each one frame (framing.ts).
 *
 *   request   { v: 1, chain: bytes32, seq: uint, block: bytes[1..MAX_ENTRY_BYTES] }
 *   response  { v: 1, ok: true, seq: uint, duplicate: bool }
 *           | { v: 1, ok: false, code: RefusalCode, message: text[1..500], length?: uint }
 *
 * - `chain`: the chain's Hypercore key; `seq`: the position the author signed
 *   for (entry signatures bind chain key and position); `block`: the encoded
 *   entry, opaque here — the custodian decodes and checks it (core's
 *   decodeEntry). A block over core's MAX_ENTRY_BYTES is TOO_LARGE (field
 *   `block`).
 * - ok: `seq` where the entry now is; `duplicate` when it was already there
 *   (a retry with the same entry id and content).
 * - refused: `code` is the custodian's stable error code, a RefusalCode (e.g. a
 *   LedgerError's STALE_POSITION), `message` a short text without health data,
 *   `length` the chain's current length when it helps the writer (so a
 *   STALE_POSITION writer can re-sign for the right position).
 *
 * Limits: request MAX_ENTRY_BYTES + 256 bytes, response 4 KiB.
 */
import { z } from 'zod'
import { key32Schema, MAX_ENTRY_BYTES, textSchema, uintSchema } from '@healthchain/core'
import { refusalCodeSchema } from '../refusals.js'
import { defineCodec, versionSchema } from './codec.js'

export const APPEND_PROTOCOL = '/healthchain/append/1.0.0'
export const MAX_APPEND_REQUEST_BYTES = MAX_ENTRY_BYTES + 256
export const MAX_APPEND_RESPONSE_BYTES = 4 * 1024

const blockSchema = z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length >= 1, { message: 'expected a non-empty byte string' })
  .refine((b) => b.length <= MAX_ENTRY_BYTES, { message: `a block is at most ${MAX_ENTRY_BYTES} bytes`, params: { code: 'TOO_LARGE' } })

export const appendRequestSchema = z.strictObject({
  v: versionSchema,
  chain: key32Schema,
  seq: uintSchema,
  block: blockSchema
})

export const appendResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({
    v: versionSchema,
    ok: z.literal(true),
    seq: uintSchema,
    duplicate: z.boolean()
  }),
  z.strictObject({
    v: versionSchema,
    ok: z.literal(false),
    code: refusalCodeSchema,
    message: textSchema(500),
    length: uintSchema.optional()
  })
])

export type AppendRequest = z.output<typeof appendRequestSchema>
export type AppendResponse = z.output<typeof appendResponseSchema>

export const appendRequestCodec = defineCodec({ name: 'AppendRequest', schema: appendRequestSchema, maxBytes: MAX_APPEND_REQUEST_BYTES })
export const appendResponseCodec = defineCodec({ name: 'AppendResponse', schema: appendResponseSchema, maxBytes: MAX_APPEND_RESPONSE_BYTES })

export function encodeAppendRequest (request: AppendRequest): Uint8Array {
  return appendRequestCodec.encode(request)
}

export function decodeAppendRequest (bytes: Uint8Array): AppendRequest {
  return appendRequestCodec.decode(bytes)
}

export function encodeAppendResponse (response: AppendResponse): Uint8Array {
  return appendResponseCodec.encode(response)
}

export function decodeAppendResponse (bytes: Uint8Array): AppendResponse {
  return appendResponseCodec.decode(bytes)
}
