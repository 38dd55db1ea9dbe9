/**
 * Users' chains: enrolment, reads, writes, verification. The routes declare
 * these schemas (validation, serialization, the OpenAPI document) and the
 * CLI's API client parses what it receives with the very same ones, so the
 * two can never drift apart.
 */
import { ENTRY_TYPES, examPlainSchema, examSealedSchema } from '@healthchain/core'
import { z } from 'zod'
import { hexBytesSchema, hexSchema, instantSchema } from './common.js'

// ---- requests

export const enrolRequestSchema = z.strictObject({ genesis: hexBytesSchema('the encoded genesis entry') })

export const examWriteSchema = z.strictObject({
  type: z.literal('exam'),
  plain: examPlainSchema,
  sealed: examSealedSchema.optional()
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
  end: position('the position to stop before').optional()
})
export type EntriesQuery = z.infer<typeof entriesQuerySchema>

// ---- replies

export const chainKeyReplySchema = z.object({ userId: z.string(), chainKey: z.string(), custodian: z.string() })
export type ChainKeyReply = z.infer<typeof chainKeyReplySchema>

export const chainSummarySchema = z.object({
  userId: z.string(),
  chainKey: hexSchema.describe('the chain\'s Hypercore key, hex'),
  custodian: z.string().describe('the institution that enrolled the user and appends to the chain'),
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
  sealed: sealedViewSchema.optional().describe('examiners: opened if a recipient; users: the ciphertext; inquirers and regulators: absent')
})
export type EntryViewReply = z.infer<typeof entryViewSchema>

export const entriesReplySchema = z.object({
  userId: z.string(), chainKey: hexSchema, verifiedLength: z.int(), forked: z.boolean(), entries: z.array(entryViewSchema)
})
export type EntriesReply = z.infer<typeof entriesReplySchema>

export const verifyReplySchema = z.object({
  chainKey: hexSchema,
  userId: z.string().nullable(),
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
