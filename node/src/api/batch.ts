/**
 * Batch writes: many examiners' exams, for many users, in one request, as
 * hospital systems send them. A batch is not atomic: every item is checked
 * and written on its own, exactly as the single write route would, and
 * answered on its own (its position, or a typed error); a refused item
 * leaves the others written.
 *
 * The request's shape is checked here only as far as "a list of items":
 * each item is then parsed with `batchItemSchema` by the service, so one
 * malformed item is answered as that item's error, not the whole batch's.
 */
import { examPlainSchema, examSealedSchema } from '@healthchain/core'
import { z } from 'zod'
import { entryIdSchema, hexSchema, userIdSchema } from './common.js'

/** Default for `api.batchMaxItems`: items one batch (or FHIR transaction Bundle) may hold. */
export const DEFAULT_BATCH_MAX_ITEMS = 500

export const batchWriteRequestSchema = z.strictObject({
  items: z.array(z.unknown(), { error: 'expected items: an array of { user, type, plain, sealed?, id? }' })
}).describe('examiner: exams for many users; each item checked, written and answered on its own (not atomic)')

/** One item of a batch, parsed on its own (its refusal names `items.<n>.<field>`). */
export const batchItemSchema = z.strictObject({
  user: userIdSchema,
  // Any type here: one an examiner may not write is refused as the role check refuses it (FORBIDDEN), not as malformed.
  type: z.string({ error: 'expected the entry type: exam' }).max(40),
  plain: examPlainSchema,
  sealed: examSealedSchema.optional(),
  id: entryIdSchema.optional()
})
export type BatchItem = z.infer<typeof batchItemSchema>

export const itemErrorSchema = z.object({ code: z.string(), message: z.string(), field: z.string().optional() })
export type ItemError = z.infer<typeof itemErrorSchema>

export const batchItemResultSchema = z.union([
  z.object({ index: z.int(), ok: z.literal(true), user: z.string(), seq: z.int(), id: hexSchema, duplicate: z.boolean() }),
  z.object({ index: z.int(), ok: z.literal(false), user: z.string().optional(), error: itemErrorSchema })
])
export type BatchItemResult = z.infer<typeof batchItemResultSchema>

export const batchWriteReplySchema = z.object({
  /** Items written (or found written: duplicates) and items refused; `items` in the request's order. */
  written: z.int(),
  failed: z.int(),
  items: z.array(batchItemResultSchema)
})
export type BatchWriteReply = z.infer<typeof batchWriteReplySchema>
