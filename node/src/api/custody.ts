/**
 * A chain moving to a new custodian over HTTP: the offer the user signs, and
 * the signed migrate (or, under a governance reassignment, the new
 * custodian's own take-over). The plain segment is sent as the entry holds
 * it, bytes as hex, so the user's device can rebuild and check it.
 */
import { z } from 'zod'
import { hexBytesSchema, hexSchema } from './common.js'

// ---- GET /v1/users/{id}/continuation

export const continuationQuerySchema = z.strictObject({
  chainKey: z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected the chain key as 64 lowercase hex digits' }).optional()
    .describe('the chain\'s current key, when this node may not hold the chain yet: it is fetched from the peers that do')
})
export type ContinuationQuery = z.infer<typeof continuationQuerySchema>

export const lineageLinkViewSchema = z.object({ key: hexSchema, length: z.int().min(1), prologue: hexSchema })

export const migratePlainViewSchema = z.object({
  from: hexSchema.describe('the chain key the chain moves from'),
  length: z.int().min(1).describe('N: the old chain\'s length, and the migrate\'s position in the continuation'),
  fork: z.int().min(0),
  prologue: hexSchema.describe('the old chain\'s tree hash at N'),
  signer: hexSchema.describe('the old custodian\'s signing key for that core'),
  headSig: hexSchema.describe('the old custodian\'s head signature at N'),
  to: z.string().describe('the new custodian: this node\'s institution'),
  lineage: z.array(lineageLinkViewSchema).describe('the cores before `from`, oldest first')
}).describe('the migrate\'s plain segment: sign buildMigrate(plain) for (key, length) with the user\'s current key')
export type MigratePlainView = z.infer<typeof migratePlainViewSchema>

export const continuationOfferSchema = z.object({
  userId: z.string(),
  key: hexSchema.describe('the continuation core\'s key: the chain\'s key once it moved here'),
  length: z.int().min(1),
  plain: migratePlainViewSchema,
  fetched: z.int().min(0).describe('blocks this node fetched from its peers first, to hold the chain complete (0: it held them)')
})
export type ContinuationOffer = z.infer<typeof continuationOfferSchema>

// ---- POST /v1/users/{id}/continuation

export const continueRequestSchema = z.union([
  z.strictObject({ migrate: hexBytesSchema('the encoded migrate entry, signed by the user for (key, length) of the offer') })
    .describe('user or examiner staff: the user-signed migrate for this node\'s offer'),
  z.strictObject({ reassigned: z.literal(true) })
    .describe('examiner staff: this node writes the migrate itself, allowed only from the date a governance reassignment names')
])
export type ContinueRequest = z.infer<typeof continueRequestSchema>

export const continuedReplySchema = z.object({
  userId: z.string(),
  chainKey: hexSchema.describe('the chain\'s new key'),
  length: z.int().min(1).describe('N: where the old chain closed (the migrate\'s position)'),
  from: hexSchema.describe('the chain key it moved from'),
  custodian: z.string()
})
export type ContinuedReply = z.infer<typeof continuedReplySchema>
