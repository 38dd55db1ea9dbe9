/**
 * A FHIR R4 `transaction` (or `batch`) Bundle of Observations for many
 * patients, as a hospital system sends its results, and the
 * `transaction-response` (or `batch-response`) Bundle answering it.
 *
 *   entry.request        POST Observation (the only operation taken)
 *   entry.resource       an Observation; its subject is Patient/<user id>
 *                        (the patient reference the chain's own export
 *                        writes, to-bundle.ts), validated and mapped as a
 *                        single FHIR write is (to-exam.ts): one exam each
 *   entry.fullUrl        urn:uuid:<uuid>: the uuid is the entry id, so a
 *                        resent Bundle is answered, not written twice
 *
 * Unlike FHIR's all-or-nothing transactions, entries are processed one by
 * one: each answer says whether that entry was stored (201, or 200 for a
 * resend of one already stored) or why not (4xx/5xx and an
 * OperationOutcome carrying the node's error code).
 */
import { parseUserId, type UserId } from '@healthchain/core'
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes'
import { NodeError } from '../errors.js'

export interface TransactionEntry {
  readonly resource: unknown
  readonly user?: UserId
  /** The entry id from a `urn:uuid:` fullUrl. */
  readonly id?: Uint8Array
  /** Why the entry cannot be taken before its resource is even looked at (request, subject, fullUrl). */
  readonly problem?: NodeError
}

export interface Transaction {
  readonly type: 'transaction' | 'batch'
  readonly entries: readonly TransactionEntry[]
}

/** The system of the coding that carries the node's error code in an answer's OperationOutcome. */
export const ERROR_CODE_SYSTEM = 'urn:healthchain:error-code'

const UUID = /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i
const PATIENT = /^Patient\/(.+)$/

/** The Bundle's envelope: FHIR_INVALID / FHIR_UNSUPPORTED for the whole request if it is not a transaction or batch. */
export function parseTransaction (body: unknown): Transaction {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Bundle') {
    throw new NodeError('FHIR_INVALID', 'expected a FHIR Bundle of type transaction (or batch)')
  }
  const bundle = body as { type?: unknown, entry?: unknown }
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw new NodeError('FHIR_UNSUPPORTED', `a ${typeof bundle.type === 'string' ? bundle.type.slice(0, 40) : 'Bundle without a type'} is not taken here: send a transaction or batch Bundle`)
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw new NodeError('FHIR_INVALID', 'Bundle.entry: expected an array')
  const entries = (bundle.entry ?? []) as unknown[]
  const seen = new Map<string, number>()
  return {
    type: bundle.type,
    entries: entries.map((raw, i) => {
      const entry = parseEntry(raw, i)
      const url = (raw as { fullUrl?: unknown } | null)?.fullUrl
      if (entry.problem === undefined && typeof url === 'string') {
        const first = seen.get(url.toLowerCase())
        if (first !== undefined) return { ...entry, problem: new NodeError('FHIR_INVALID', `Bundle.entry[${i}].fullUrl: the same as entry[${first}]'s`) }
        seen.set(url.toLowerCase(), i)
      }
      return entry
    })
  }
}

function parseEntry (raw: unknown, i: number): TransactionEntry {
  const at = `Bundle.entry[${i}]`
  if (typeof raw !== 'object' || raw === null) return { resource: undefined, problem: new NodeError('FHIR_INVALID', `${at}: expected an object`) }
  const entry = raw as BundleEntry
  const resource: unknown = entry.resource
  const request = entry.request as { method?: unknown, url?: unknown } | undefined
  if (request === undefined) return { resource, problem: new NodeError('FHIR_INVALID', `${at}.request: required in a transaction or batch`) }
  if (request.method !== 'POST' || typeof request.url !== 'string' || !/^Observation\/?$/.test(request.url)) {
    return { resource, problem: new NodeError('FHIR_UNSUPPORTED', `${at}.request: only POST Observation is taken (an exam is never updated or deleted)`) }
  }
  const reference = (resource as { subject?: { reference?: unknown } } | undefined)?.subject?.reference
  const match = typeof reference === 'string' ? PATIENT.exec(reference) : null
  let user: UserId
  try {
    if (match === null) throw new Error('no Patient reference')
    user = parseUserId(match[1]!)
  } catch {
    return { resource, problem: new NodeError('FHIR_UNSUPPORTED', `${at}.resource.subject: expected a reference Patient/<user id> of a user enrolled in the consortium`) }
  }
  if (entry.fullUrl === undefined) return { resource, user }
  const uuid = typeof entry.fullUrl === 'string' ? UUID.exec(entry.fullUrl) : null
  // Any other fullUrl (a server URL) names nothing here: the entry gets a fresh id.
  if (uuid === null) return { resource, user }
  return { resource, user, id: new Uint8Array(Buffer.from(uuid.slice(1).join(''), 'hex')) }
}

/** One entry's answer: written (or found written), or the status, code and message of its refusal. */
export type EntryAnswer =
  | { readonly ok: true, readonly user: UserId, readonly seq: number, readonly duplicate: boolean }
  | { readonly ok: false, readonly status: number, readonly code: string, readonly message: string, readonly field?: string }

type IssueType = 'invalid' | 'forbidden' | 'not-found' | 'conflict' | 'too-costly' | 'exception' | 'transient' | 'processing'

/** Each status an entry may be answered with: its reason phrase and the FHIR issue type of its OperationOutcome. */
const STATUSES: ReadonlyMap<number, readonly [string, IssueType]> = new Map([
  [400, ['Bad Request', 'invalid']],
  [403, ['Forbidden', 'forbidden']],
  [404, ['Not Found', 'not-found']],
  [409, ['Conflict', 'conflict']],
  [413, ['Payload Too Large', 'too-costly']],
  [422, ['Unprocessable Entity', 'processing']],
  [500, ['Internal Server Error', 'exception']],
  [502, ['Bad Gateway', 'transient']],
  [503, ['Service Unavailable', 'transient']],
  [504, ['Gateway Timeout', 'transient']]
])

/** The `transaction-response` (or `batch-response`) Bundle: one entry per request entry, in order. */
export function transactionResponse (type: Transaction['type'], answers: readonly EntryAnswer[], now: Date = new Date()): Bundle {
  return {
    resourceType: 'Bundle',
    type: type === 'transaction' ? 'transaction-response' : 'batch-response',
    timestamp: now.toISOString(),
    entry: answers.map((answer): BundleEntry => {
      if (answer.ok) {
        return {
          response: {
            status: answer.duplicate ? '200 OK' : '201 Created',
            // The entry as this API reads it back (one position of the patient's chain).
            location: `/v1/users/${answer.user}/entries?start=${answer.seq}&end=${answer.seq + 1}`
          }
        }
      }
      const outcome: OperationOutcome = {
        resourceType: 'OperationOutcome',
        issue: [{
          severity: 'error',
          code: STATUSES.get(answer.status)?.[1] ?? 'processing',
          details: { coding: [{ system: ERROR_CODE_SYSTEM, code: answer.code }], text: answer.message },
          ...(answer.field === undefined ? {} : { expression: [answer.field] })
        }]
      }
      return { response: { status: `${answer.status} ${STATUSES.get(answer.status)?.[0] ?? ''}`.trim(), outcome } }
    })
  }
}
