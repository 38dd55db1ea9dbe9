/**
 * Users' chains: enrolment, reads, writes, verification. The routes declare
 * these schemas (validation, serialization, the OpenAPI document) and the
 * CLI's API client parses what it receives with the very same ones, so the
 * two can never drift apart.
 */
import { ENTRY_TYPES, examPlainSchema, examSealedSchema } from '@healthchain/core'
import { z } from 'zod'
import { entryIdSchema, hexBytesSchema, hexSchema, instantSchema } from './common.js'

// ---- requests

export const enrolRequestSchema = z.strictObject({ genesis: hexBytesSchema('the encoded genesis entry') })

export const examWriteSchema = z.strictObject({
  type: z.literal('exam'),
  plain: examPlainSchema,
  sealed: examSealedSchema.optional(),
  id: entryIdSchema.optional()
}).describe('examiner: the node signs as the institution and seals for the user, itself and the granted examiners')
export type ExamWrite = z.infer<typeof examWriteSchema>

export const userWriteSchema = z.strictObject({
  entry: hexBytesSchema('the encoded, user-signed entry'),
  seq: z.int().min(1).describe('the position the entry was signed for')
}).describe('user: an entry signed on the device for position seq')
export type UserWrite = z.infer<typeof userWriteSchema>

export const writeRequestSchema = z.union([examWriteSchema, userWriteSchema])

// Positions as plain digits: z.coerce would read `?start=` as 0 (and `0x10`, `1e3` as numbers) instead of refusing them.
const position = (what: string): z.ZodString => z.string().regex(/^\d{1,15}$/, { error: `expected ${what} as a non-negative integer` })

export const entriesQuerySchema = z.strictObject({
  type: z.enum(ENTRY_TYPES).optional(),
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  start: position('the first position').optional(),
  end: position('the position to stop before').optional(),
  encoded: z.enum(['true', 'false']).optional()
    .describe('true: every entry carries its encoded bytes (users on their own chain and examiners only), to check the author signature')
})
export type EntriesQuery = z.infer<typeof entriesQuerySchema>

// ---- replies

export const chainKeyReplySchema = z.object({ userId: z.string(), chainKey: z.string(), custodian: z.string() })
export type ChainKeyReply = z.infer<typeof chainKeyReplySchema>

export const chainSummarySchema = z.object({
  userId: z.string(),
  chainKey: hexSchema.describe('the chain\'s Hypercore key, hex'),
  custodian: z.string().describe('the institution that appends to the chain: the one that enrolled the user, or the latest it moved to'),
  length: z.int(),
  verifiedLength: z.int().describe('entries this node has checked (a replica never serves more)'),
  forked: z.boolean().describe('the custodian signed two histories: the chain is not to be trusted')
})
export type ChainSummary = z.infer<typeof chainSummarySchema>

export const writeReplySchema = z.object({ seq: z.int(), id: hexSchema, duplicate: z.boolean() })
export type WriteReply = z.infer<typeof writeReplySchema>

export const sealedViewSchema = z.union([
  z.object({ readable: z.literal(true), data: z.unknown() }),
  z.object({ readable: z.literal(false), envelope: hexSchema.optional() })
])

export const entryViewSchema = z.object({
  seq: z.int(),
  id: hexSchema,
  type: z.enum(ENTRY_TYPES),
  author: z.string(),
  time: z.string(),
  reg: z.int().optional(),
  plain: z.unknown(),
  sealed: sealedViewSchema.optional().describe('examiners: opened if a recipient; users: the ciphertext; inquirers and regulators: absent'),
  segmentKey: hexSchema.optional()
    .describe('the key of the core the entry was written in, when the chain has moved since (a seal is bound to it); absent: the chain key'),
  encoded: hexSchema.optional().describe('with ?encoded=true: the stored block (the canonical encoded entry, signature included), hex')
})
export type EntryViewReply = z.infer<typeof entryViewSchema>

export const entriesReplySchema = z.object({
  userId: z.string(), chainKey: hexSchema, verifiedLength: z.int(), forked: z.boolean(), entries: z.array(entryViewSchema)
})
export type EntriesReply = z.infer<typeof entriesReplySchema>

export const verifyReplySchema = z.object({
  chainKey: hexSchema,
  userId: z.string().nullable(),
  segments: z.array(z.object({ key: hexSchema, start: z.int(), end: z.int() }))
    .describe('the cores the chain was written in, oldest first, each with its positions [start, end): more than one once the chain moved to another custodian'),
  length: z.int(),
  valid: z.boolean(),
  verified: z.int(),
  tree: z.object({ ok: z.boolean(), blocksChecked: z.int(), problem: z.string().nullable() }),
  erased: z.array(z.int()),
  missing: z.array(z.int()),
  problems: z.array(z.object({ seq: z.int().nullable(), code: z.string(), message: z.string() })),
  forked: z.boolean()
})
export type VerifyReply = z.infer<typeof verifyReplySchema>

// ---- GET /v1/users/{id}/head

export const signedHeadViewSchema = z.object({
  key: hexSchema.describe('the chain\'s Hypercore key'),
  signer: hexSchema.describe('the custodian\'s signing key for this chain; the chain key is derived from it'),
  length: z.int().min(1),
  fork: z.int().min(0),
  root: hexSchema.describe('Hypercore\'s tree hash at `length`'),
  sig: hexSchema.describe('Ed25519 signature of the signer over Hypercore\'s tree signable bytes')
}).describe('a custodian\'s signed head: check it with verifyHead of @healthchain/net/browser')
export type SignedHeadView = z.infer<typeof signedHeadViewSchema>

export const cosignatureViewSchema = z.object({
  witness: z.string().describe('the regulator (institution id) that cosigned'),
  head: signedHeadViewSchema,
  sig: hexSchema.describe('the witness\'s Ed25519 signature over the head\'s cosign message (registry signing key)')
}).describe('a witness\'s cosignature: check it with verifyCosignature of @healthchain/net/browser')
export type CosignatureView = z.infer<typeof cosignatureViewSchema>

export const chainHeadReplySchema = z.object({
  chainKey: hexSchema,
  head: signedHeadViewSchema.nullable()
    .describe('the signed head this node holds for the chain; null while it has none. A replica may hold a head ahead of the blocks it verified'),
  cosignatures: z.array(cosignatureViewSchema).describe('valid cosignatures the witnesses gave within a short wait, newest first'),
  witnesses: z.array(z.string()).describe('the active regulators of the registry: the witnesses whose cosignatures count')
})
export type ChainHeadReply = z.infer<typeof chainHeadReplySchema>

// ---- GET /v1/users?prefix=

export const DEFAULT_FIND_LIMIT = 20
export const MAX_FIND_LIMIT = 100

export const findUsersQuerySchema = z.strictObject({
  prefix: z.string().regex(/^[a-zA-Z2-7]{1,32}$/, { error: 'expected 1 to 32 characters of a user id (a-z, 2-7)' })
    .transform((p) => p.toLowerCase()).describe('the start of a user id, any case'),
  limit: z.string().regex(/^\d{1,3}$/, { error: 'expected the number of users as a whole number' }).transform(Number)
    .pipe(z.int().min(1).max(MAX_FIND_LIMIT)).default(DEFAULT_FIND_LIMIT)
})
export type FindUsersQuery = z.infer<typeof findUsersQuerySchema>

export const userMatchSchema = z.object({
  userId: z.string(),
  custodian: z.string().describe('the institution that appends to the chain: the one that enrolled the user, or the latest it moved to'),
  length: z.int().describe('entries this node serves (a replica: as far as it verified)'),
  forked: z.boolean()
})
export type UserMatch = z.infer<typeof userMatchSchema>

export const findUsersReplySchema = z.object({
  users: z.array(userMatchSchema).describe('chains held here whose user id starts with the prefix, in id order, at most `limit`')
})
export type FindUsersReply = z.infer<typeof findUsersReplySchema>
