/**
 * Heads sync, wire version 1, protocol `/healthchain/heads-sync/1.0.0`: the
 * reconciliation two nodes run when they connect, so a node learns the heads
 * it missed while apart without any chain being announced wholesale.
 *
 *   request   { v: 1, since: uint }
 *   response  { v: 1, heads: SignedHead[0..1024], next: uint, more: bool }
 *
 * `since` is a cursor into the responder's log of head updates: 0 the first
 * time, then the previous response's `next`. `more` says whether to ask
 * again (with since = next) at once; the requester keeps `next` for the next
 * connection. The cursor is the responder's own and means nothing elsewhere.
 * Each head is verified on its own (verifyHead). One request and one
 * response per stream, each one frame (framing.ts).
 *
 * Limits: request 64 bytes, response 320 KiB (1,024 continuation heads ≤ 293,921 bytes).
 */
import { z } from 'zod'
import { uintSchema } from '@healthchain/core'
import { defineCodec, versionSchema } from './codec.js'
import { signedHeadSchema } from './head.js'

export const HEADS_SYNC_PROTOCOL = '/healthchain/heads-sync/1.0.0'
export const MAX_HEADS_PER_SYNC = 1024
export const MAX_HEADS_SYNC_REQUEST_BYTES = 64
export const MAX_HEADS_SYNC_RESPONSE_BYTES = 320 * 1024

export const headsSyncRequestSchema = z.strictObject({
  v: versionSchema,
  since: uintSchema
})

export const headsSyncResponseSchema = z.strictObject({
  v: versionSchema,
  heads: z.array(signedHeadSchema).max(MAX_HEADS_PER_SYNC),
  next: uintSchema,
  more: z.boolean()
})

export type HeadsSyncRequest = z.output<typeof headsSyncRequestSchema>
export type HeadsSyncResponse = z.output<typeof headsSyncResponseSchema>

export const headsSyncRequestCodec = defineCodec({ name: 'HeadsSyncRequest', schema: headsSyncRequestSchema, maxBytes: MAX_HEADS_SYNC_REQUEST_BYTES })
export const headsSyncResponseCodec = defineCodec({ name: 'HeadsSyncResponse', schema: headsSyncResponseSchema, maxBytes: MAX_HEADS_SYNC_RESPONSE_BYTES })

export function encodeHeadsSyncRequest (request: HeadsSyncRequest): Uint8Array {
  return headsSyncRequestCodec.encode(request)
}

export function decodeHeadsSyncRequest (bytes: Uint8Array): HeadsSyncRequest {
  return headsSyncRequestCodec.decode(bytes)
}

export function encodeHeadsSyncResponse (response: HeadsSyncResponse): Uint8Array {
  return headsSyncResponseCodec.encode(response)
}

export function decodeHeadsSyncResponse (bytes: Uint8Array): HeadsSyncResponse {
  return headsSyncResponseCodec.decode(bytes)
}
