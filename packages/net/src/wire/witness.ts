/**
 * Witness exchange, wire version 1, protocol `/healthchain/witness/1.0.0`:
 * a client asks a regulator (witness) what it has cosigned of one chain.
 *
 *   request   { v: 1, key: bytes32, minLength?: uint }
 *   response  { v: 1, head: SignedHead | null, cosignatures: Cosignature[0..16] }
 *
 * `head` is the newest head of the chain the witness holds verified (null if
 * it holds none, or none of at least `minLength`); `cosignatures` are the
 * witness's own cosignatures of that chain at `minLength` or more, newest
 * first. Nothing here is trusted as sent: the client verifies each
 * cosignature against the registry's key for its `witness`
 * (`verifyCosignature`). One request and one response per stream, each one
 * frame (framing.ts).
 *
 * Limits: request 128 bytes (at most 58), response 8 KiB (a head and 16
 * cosignatures ≤ 6,240 bytes).
 */
import { z } from 'zod'
import { key32Schema, uintSchema } from '@healthchain/core'
import { defineCodec, versionSchema } from './codec.js'
import { cosignatureSchema } from './cosignature.js'
import { signedHeadSchema } from './head.js'

export const WITNESS_PROTOCOL = '/healthchain/witness/1.0.0'
export const MAX_COSIGNATURES_PER_RESPONSE = 16
export const MAX_WITNESS_REQUEST_BYTES = 128
export const MAX_WITNESS_RESPONSE_BYTES = 8 * 1024

export const witnessRequestSchema = z.strictObject({
  v: versionSchema,
  key: key32Schema,
  minLength: uintSchema.optional()
})

export const witnessResponseSchema = z.strictObject({
  v: versionSchema,
  head: signedHeadSchema.nullable(),
  cosignatures: z.array(cosignatureSchema).max(MAX_COSIGNATURES_PER_RESPONSE)
})

export type WitnessRequest = z.output<typeof witnessRequestSchema>
export type WitnessResponse = z.output<typeof witnessResponseSchema>

export const witnessRequestCodec = defineCodec({ name: 'WitnessRequest', schema: witnessRequestSchema, maxBytes: MAX_WITNESS_REQUEST_BYTES })
export const witnessResponseCodec = defineCodec({ name: 'WitnessResponse', schema: witnessResponseSchema, maxBytes: MAX_WITNESS_RESPONSE_BYTES })

export function encodeWitnessRequest (request: WitnessRequest): Uint8Array {
  return witnessRequestCodec.encode(request)
}

export function decodeWitnessRequest (bytes: Uint8Array): WitnessRequest {
  return witnessRequestCodec.decode(bytes)
}

export function encodeWitnessResponse (response: WitnessResponse): Uint8Array {
  return witnessResponseCodec.encode(response)
}

export function decodeWitnessResponse (bytes: Uint8Array): WitnessResponse {
  return witnessResponseCodec.decode(bytes)
}
