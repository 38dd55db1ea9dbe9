/**
 * The pieces every part of the API contract shares: bytes as hex, user ids,
 * instants, the error body. Like the rest of node/src/api, this module
 * imports no Fastify and no Node built-in, so a browser can use it as is.
 */
import { parseUserId } from '@healthchain/core'
import { z } from 'zod'

/** Bytes as the API writes them: lowercase hex. */
export const hexSchema = z.string().regex(/^([0-9a-f]{2})*$/, { error: 'expected lowercase hex' })

/** Bytes as a request may send them: hex of either case, at least one byte; `what` names them in the error. */
export const hexBytesSchema = (what: string): z.ZodString => z.string().regex(/^([0-9a-fA-F]{2})+$/, { error: `expected ${what} as hex` })

/** An entry id the caller chose: 16 bytes of hex. A write sent again with it is answered as the first one (a duplicate), not written twice. */
export const entryIdSchema = z.string().regex(/^[0-9a-fA-F]{32}$/, { error: 'expected the entry id as 16 bytes of hex' })
  .describe('the entry id the caller chose (16 bytes hex): a retry with the same id is answered as a duplicate, not written twice')

const USER_ID_ERROR = 'expected a 32-character user id'

/**
 * A user id in a request (path, body): checked and branded by core's
 * parseUserId, so the pattern lives in one place, and every route's
 * refusal reads the same (`params.id: expected a 32-character user id`).
 */
export const userIdSchema = z.string().transform((value, ctx) => {
  try {
    return parseUserId(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: USER_ID_ERROR })
    return z.NEVER
  }
}).describe('user id: base32 of the hash of the user\'s signing key')

/** The path parameters of every route under /v1/users/{id}. */
export const userParamsSchema = z.strictObject({ id: userIdSchema })

/** An instant: ISO 8601 date and time with `Z` or an offset (`2026-03-01T09:30:00+01:00`). */
export const instantSchema = z.iso.datetime({ offset: true })

/**
 * A request's query string (`?start=0&type=exam`) from its parameters, the
 * undefined ones left out; '' when none is left. Every client of the API
 * (the CLI, the web console) builds its requests with it.
 */
export function queryString (query: Readonly<Record<string, string | number | boolean | undefined>> = {}): string {
  const pairs = Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return pairs.length > 0 ? `?${pairs.join('&')}` : ''
}

/** A route without query parameters refuses any. */
export const noQuerySchema = z.strictObject({})

/** Every error answer: `{ error: { code, message, field? } }` with a fitting status. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('stable error code, e.g. BAD_REQUEST, UNKNOWN_KEY'),
    message: z.string().describe('what went wrong, for people; never parse it'),
    field: z.string().optional().describe('the offending field, e.g. body.userId')
  })
}).describe('an error')
export type ErrorBody = z.infer<typeof errorBodySchema>

/** The error answers every route declares. */
export const errorReplies = { '4XX': errorBodySchema, '5XX': errorBodySchema }
