/**
 * Batch writes over HTTP (services/batch.ts), examiners only:
 *
 *   POST /v1/entries/batch          { items: [{ user, type: 'exam', plain, sealed?, id? }] } → 200 { written, failed, items }
 *   POST /v1/fhir?values=plain|sealed   a FHIR transaction (or batch) Bundle of Observations → 200 transaction-response Bundle
 *
 * Neither is atomic: each item is answered on its own (position, or a
 * typed error), and the good ones are written whatever the others did.
 * Whole-request refusals (no token, wrong role, not a list or a Bundle,
 * more items than `api.batchMaxItems`) write nothing. The request gets
 * its audit line as every guarded route does (target `batch:<items>`),
 * and each item one more, as its single write would (action write,
 * target its user, granted or refused with its code).
 */
import { batchWriteReplySchema, batchWriteRequestSchema, errorReplies, fhirBundleSchema, fhirResourceSchema, fhirWriteQuerySchema } from '../../api/index.js'
import type { ItemError } from '../../api/batch.js'
import type { AuditSink } from '../../audit/audit-sink.js'
import type { Sessions } from '../../auth/sessions.js'
import type { BatchService, ItemOutcome } from '../../services/batch.js'
import { transactionResponse, type EntryAnswer } from '../../fhir/transaction.js'
import { BEARER_SECURITY, requireAuth } from '../auth.js'
import { toHttpError } from '../errors.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'
import type { FastifyRequest } from 'fastify'

export interface BatchRoutesDeps {
  readonly sessions: Sessions
  readonly batch: BatchService
  readonly audit: AuditSink
  /** Largest body of a batch request in bytes (config `api.batchBodyLimit`). */
  readonly bodyLimit: number
}

export function registerBatchRoutes (app: App, deps: BatchRoutesDeps): void {
  const { sessions, batch, audit, bodyLimit } = deps

  app.post('/v1/entries/batch', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'write', target: (r) => `batch:${countOf((r.body as { items?: unknown } | undefined)?.items)}` }),
    bodyLimit,
    schema: {
      summary: 'Write exams for many users at once: each item checked, written and answered on its own (not atomic)',
      tags: ['entries'],
      security: BEARER_SECURITY,
      body: batchWriteRequestSchema,
      response: { 200: batchWriteReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const outcomes = await batch.write(request.body.items)
    await auditItems(audit, request, outcomes)
    const items = outcomes.map((o) => o.ok
      ? o
      : { index: o.index, ...(o.user === undefined ? {} : { user: o.user }), ok: false as const, error: itemError(request, o.error) })
    const written = items.filter((i) => i.ok).length
    return { written, failed: items.length - written, items }
  })

  app.post('/v1/fhir', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'write', target: (r) => `batch:${countOf((r.body as { entry?: unknown } | undefined)?.entry)}` }),
    bodyLimit,
    schema: {
      summary: 'Store a FHIR R4 transaction (or batch) Bundle of Observations for many patients: one exam per entry, answered per entry',
      tags: ['fhir'],
      security: BEARER_SECURITY,
      querystring: fhirWriteQuerySchema,
      body: fhirResourceSchema,
      response: { 200: fhirBundleSchema, ...errorReplies }
    }
  }, async (request, reply) => {
    const { type, outcomes } = await batch.fhirTransaction(request.body, request.query.values ?? 'plain')
    await auditItems(audit, request, outcomes)
    const answers = outcomes.map((o): EntryAnswer => {
      if (o.ok) return { ok: true, user: o.user, seq: o.seq, duplicate: o.duplicate }
      const error = toHttpError(o.error)
      if (error.status >= 500) request.log.error({ event: 'batch-item-failed', err: o.error }, 'a batch item failed')
      return { ok: false, status: error.status, code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) }
    })
    return await reply.type('application/fhir+json; charset=utf-8').send(transactionResponse(type, answers))
  })
}

/** An item's refusal as the API writes it: the same code and client-safe message the single route would answer. */
function itemError (request: FastifyRequest, err: unknown): ItemError {
  const error = toHttpError(err)
  if (error.status >= 500) request.log.error({ event: 'batch-item-failed', err }, 'a batch item failed')
  return { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) }
}

/** One audit line per item, as its single write would have: who, which user, granted or refused and why. */
async function auditItems (audit: AuditSink, request: FastifyRequest, outcomes: readonly ItemOutcome[]): Promise<void> {
  const context = auditContextOf(request)
  await Promise.all(outcomes.map(async (o) => await audit.append({
    actor: context.actor,
    ...(context.role === undefined ? {} : { role: context.role }),
    action: 'write',
    ...(o.user === undefined ? {} : { target: `user:${o.user}` }),
    from: request.ip,
    result: o.ok ? 'granted' : 'refused',
    ...(o.ok ? {} : { code: toHttpError(o.error).code })
  })))
}

function countOf (list: unknown): string {
  return Array.isArray(list) ? String(list.length) : '(none)'
}
