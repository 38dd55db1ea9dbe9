/**
 * The calls examiner staff make, each parsed with the API contract's own
 * schema: find and read patients, open and follow enrolment tickets, write
 * exams and FHIR resources.
 */
import type { ExamPlain, ExamSealed } from '@healthchain/core'
import {
  chainSummarySchema, entriesReplySchema, enrolmentTicketSchema, findUsersReplySchema, seriesReplySchema, ticketStatusSchema, verifyReplySchema,
  writeReplySchema, type ChainSummary, type EntriesReply, type EnrolmentTicket, type FindUsersReply, type SeriesReply, type TicketStatusReply,
  type VerifyReply, type WriteReply
} from '@healthchain/node/api'
import { request } from '../api.js'

const user = (id: string): string => `/v1/users/${encodeURIComponent(id)}`

export async function findUsers (token: string, prefix: string): Promise<FindUsersReply> {
  return await request('GET', '/v1/users', findUsersReplySchema, { token, query: { prefix } })
}

export async function chainSummary (token: string, userId: string): Promise<ChainSummary> {
  return await request('GET', user(userId), chainSummarySchema, { token })
}

export async function verifyChain (token: string, userId: string): Promise<VerifyReply> {
  return await request('GET', `${user(userId)}/verify`, verifyReplySchema, { token, timeoutMs: 60_000 })
}

/** Every entry after the genesis, in order: plain parts, and sealed parts opened where this institution is a recipient. */
export async function chainEntries (token: string, userId: string): Promise<EntriesReply> {
  return await request('GET', `${user(userId)}/entries`, entriesReplySchema, { token })
}

export async function series (token: string, userId: string, code: string): Promise<SeriesReply> {
  return await request('GET', `${user(userId)}/series`, seriesReplySchema, { token, query: { code, source: 'exam' } })
}

export interface ExamInput {
  readonly plain: ExamPlain
  readonly sealed?: ExamSealed
}

/** An exam the node signs as this institution and seals for the patient, itself and the examiners the patient granted. */
export async function writeExam (token: string, userId: string, exam: ExamInput): Promise<WriteReply> {
  return await request('POST', `${user(userId)}/entries`, writeReplySchema, {
    token, body: { type: 'exam', plain: exam.plain, ...(exam.sealed === undefined ? {} : { sealed: exam.sealed }) }
  })
}

/** A FHIR R4 Observation or Bundle, stored as one exam; values plain or sealed. */
export async function uploadFhir (token: string, userId: string, resource: unknown, values: 'plain' | 'sealed'): Promise<WriteReply> {
  return await request('POST', `${user(userId)}/fhir`, writeReplySchema, { token, body: resource, query: { values } })
}

export async function openTicket (token: string): Promise<EnrolmentTicket> {
  return await request('POST', '/v1/enrolments', enrolmentTicketSchema, { token })
}

export async function ticketStatus (token: string, code: string): Promise<TicketStatusReply> {
  return await request('GET', `/v1/enrolments/${encodeURIComponent(code)}`, ticketStatusSchema, { token })
}
