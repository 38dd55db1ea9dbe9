/**
 * "Which chain is mine?", wire version 1, protocol
 * `/healthchain/my-chain/1.0.0`: a user's light peer asks a node for its own
 * chain's key, so a fresh device that has only the recovery phrase finds its
 * chain. One request and one response per stream, each one frame
 * (framing.ts).
 *
 *   request   { v: 1 }
 *   response  { v: 1, ok: true, chain: bytes32, custodian: institution id }
 *           | { v: 1, ok: false, code: RefusalCode, message: text[1..200] }
 *
 * The request names nobody on purpose: the asker is the connection's
 * authenticated peer, whose libp2p identity is the user's signing key
 * (membership-gate.ts), so a node can only ever answer about the user at
 * the other end of the connection — there is no field to ask about anyone
 * else with.
 *
 * - ok: `chain` is the user's chain key (Hypercore key), `custodian` the
 *   institution its genesis names. The asker does not take the node's word
 *   for it: it fetches block 0 and checks the user signed it (PhoneClient).
 * - refused: `code` is a stable code (NOT_ADMITTED for anyone but a light
 *   peer of a user held here, UNKNOWN_CHAIN, the codec's codes, INTERNAL),
 *   `message` a short text without data.
 *
 * Limits: request 64 bytes (it is 4), response 1 KiB (an answer is at most
 * 124 bytes; a refusal, with 200 UTF-16 units of message, at most 690).
 */
import { z } from 'zod'
import { institutionIdSchema, key32Schema, textSchema } from '@healthchain/core'
import { refusalCodeSchema } from '../refusals.js'
import { defineCodec, versionSchema } from './codec.js'

export const MY_CHAIN_PROTOCOL = '/healthchain/my-chain/1.0.0'
export const MAX_MY_CHAIN_REQUEST_BYTES = 64
export const MAX_MY_CHAIN_RESPONSE_BYTES = 1024
/** Longest refusal message, in UTF-16 units (≤ 600 bytes of UTF-8), so every refusal fits the response limit. */
export const MAX_MY_CHAIN_MESSAGE_CHARS = 200

export const myChainRequestSchema = z.strictObject({
  v: versionSchema
})

export const myChainResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({
    v: versionSchema,
    ok: z.literal(true),
    chain: key32Schema,
    custodian: institutionIdSchema
  }),
  z.strictObject({
    v: versionSchema,
    ok: z.literal(false),
    code: refusalCodeSchema,
    message: textSchema(MAX_MY_CHAIN_MESSAGE_CHARS)
  })
])

export type MyChainRequest = z.output<typeof myChainRequestSchema>
export type MyChainResponse = z.output<typeof myChainResponseSchema>

export const myChainRequestCodec = defineCodec({ name: 'MyChainRequest', schema: myChainRequestSchema, maxBytes: MAX_MY_CHAIN_REQUEST_BYTES })
export const myChainResponseCodec = defineCodec({ name: 'MyChainResponse', schema: myChainResponseSchema, maxBytes: MAX_MY_CHAIN_RESPONSE_BYTES })

export function encodeMyChainRequest (request: MyChainRequest): Uint8Array {
  return myChainRequestCodec.encode(request)
}

export function decodeMyChainRequest (bytes: Uint8Array): MyChainRequest {
  return myChainRequestCodec.decode(bytes)
}

export function encodeMyChainResponse (response: MyChainResponse): Uint8Array {
  return myChainResponseCodec.encode(response)
}

export function decodeMyChainResponse (bytes: Uint8Array): MyChainResponse {
  return myChainResponseCodec.decode(bytes)
}
