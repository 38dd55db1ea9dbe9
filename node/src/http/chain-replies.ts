/**
 * The shapes of the chain routes' answers, defined once: the routes
 * declare them (response validation and the OpenAPI document), and the
 * CLI's API client parses what it receives with the very same schemas, so
 * the two can never drift apart.
 */
import { ENTRY_TYPES } from '@healthchain/core'
import { z } from 'zod'

/** Bytes as the API writes them: lowercase hex. */
export const hexSchema = z.string().regex(/^([0-9a-f]{2})*$/, { error: 'expected lowercase hex' })

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

export const entryViewSchema = z.object({
  seq: z.int(),
  id: hexSchema,
  type: z.enum(ENTRY_TYPES),
  author: z.string(),
  time: z.string(),
  reg: z.int().optional(),
  plain: z.unknown(),
  sealed: z.union([
    z.object({ readable: z.literal(true), data: z.unknown() }),
    z.object({ readable: z.literal(false), envelope: hexSchema.optional() })
  ]).optional().describe('examiners: opened if a recipient; users: the ciphertext; inquirers and regulators: absent')
})
export type EntryViewReply = z.infer<typeof entryViewSchema>

export const entriesReplySchema = z.object({
  userId: z.string(), chainKey: hexSchema, verifiedLength: z.int(), forked: z.boolean(), entries: z.array(entryViewSchema)
})
export type EntriesReply = z.infer<typeof entriesReplySchema>
