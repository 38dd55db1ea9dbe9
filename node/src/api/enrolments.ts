/**
 * Enrolment hand-over: staff open a one-time ticket, the patient's own
 * device (the web console) fetches its chain key with the ticket's code,
 * signs its genesis and enrols with the same code. The patient's recovery
 * phrase and keys never leave the device, and staff never see them; the
 * code is all they hand over.
 *
 *   POST /v1/enrolments                      examiner      → { code, expiresAt, custodian }
 *   GET  /v1/enrolments/{code}               examiner      → { status, userId?, expiresAt }
 *   POST /v1/enrolments/{code}/chain-key     no login      { userId } → { userId, chainKey, custodian }
 *   POST /v1/enrolments/{code}               no login      { genesis } → 201 chain summary
 *
 * Codes are 12 characters of Crockford base32 (60 random bits), written
 * `XXXX-XXXX-XXXX`. Input is read as Crockford says: any case, dashes and
 * spaces ignored, O read as 0, I and L as 1. Like the rest of node/src/api,
 * nothing here imports Fastify or a Node built-in: the console parses with
 * these very schemas and helpers.
 */
import { z } from 'zod'
import { instantSchema, userIdSchema } from './common.js'

/** Crockford's base32 alphabet: no I, L, O, U. */
export const ENROLMENT_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Characters of a code (5 bits each: 60 bits). */
export const ENROLMENT_CODE_LENGTH = 12

const READ_AS: Readonly<Record<string, string>> = { O: '0', I: '1', L: '1' }

/**
 * A code as typed (any case, with or without dashes or spaces), in its
 * canonical form `XXXX-XXXX-XXXX`; undefined if it cannot be one.
 */
export function normaliseEnrolmentCode (input: string): string | undefined {
  if (input.length > 40) return undefined
  const chars = input.toUpperCase().replace(/[-\s]/g, '').replace(/[OIL]/g, (c) => READ_AS[c]!)
  if (chars.length !== ENROLMENT_CODE_LENGTH || [...chars].some((c) => !ENROLMENT_CODE_ALPHABET.includes(c))) return undefined
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`
}

/** A code in a request: parsed into its canonical form, so the server compares like with like. */
export const enrolmentCodeSchema = z.string().transform((value, ctx) => {
  const code = normaliseEnrolmentCode(value)
  if (code === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected an enrolment code of 12 characters, such as 7KQ2-M9XD-4HNA' })
    return z.NEVER
  }
  return code
}).describe('enrolment code: 12 characters of Crockford base32, XXXX-XXXX-XXXX (any case, dashes optional)')

/** The path parameters of every route under /v1/enrolments/{code}. */
export const enrolmentParamsSchema = z.strictObject({ code: enrolmentCodeSchema })

// ---- requests

export const ticketChainKeyRequestSchema = z.strictObject({ userId: userIdSchema })
export type TicketChainKeyRequest = z.infer<typeof ticketChainKeyRequestSchema>

// The chain-key step answers as GET /v1/users/{id}/chain-key does (chainKeyReplySchema), and the enrolment takes and
// answers what POST /v1/users does (enrolRequestSchema, chainSummarySchema): both in chains.ts.

// ---- replies

export const enrolmentTicketSchema = z.object({
  code: z.string().describe('the one-time code, XXXX-XXXX-XXXX: show it to the patient, and nowhere else'),
  expiresAt: instantSchema.describe('the ticket is refused after this'),
  custodian: z.string().describe('the institution the patient enrols with (this node)')
}).describe('a one-time enrolment ticket')
export type EnrolmentTicket = z.infer<typeof enrolmentTicketSchema>

export const TICKET_STATUSES = ['pending', 'enrolled', 'expired'] as const
export type TicketStatus = typeof TICKET_STATUSES[number]

export const ticketStatusSchema = z.object({
  status: z.enum(TICKET_STATUSES),
  userId: z.string().optional().describe('the user the ticket is bound to, once their device asked for its chain key'),
  expiresAt: instantSchema
}).describe('where an enrolment ticket stands')
export type TicketStatusReply = z.infer<typeof ticketStatusSchema>
