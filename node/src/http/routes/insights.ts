/**
 * The benefits the design promises, served from the derived query index
 * (query-index/, plain segments only — nothing sealed is in it, so no query
 * here can leak a sealed value whoever asks):
 *
 *   GET  /v1/users/{id}/series?code=…      user (own), examiner   one measurement over time, with statistics
 *   GET  /v1/users/{id}/exercise?period=…  user (own), examiner   daily or weekly exercise summaries
 *   POST /v1/trace                         inquirer               contact tracing from location points
 *   GET  /v1/statistics?period=…           inquirer, regulator    aggregates, small cells suppressed
 *
 * Every route is audited (requireAuth). A user id not held here is 404
 * UNKNOWN_CHAIN (the index alone would answer with nothing).
 */
import type { UserId } from '@healthchain/core'
import { LedgerError, type Ledger } from '@healthchain/ledger'
import { z } from 'zod'
import type { Sessions } from '../../auth/sessions.js'
import { NodeError } from '../../errors.js'
import { MAX_MIN_USERS, MIN_SUPPRESSION_K, type QueryIndex } from '../../query-index/index.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { errorBodySchema } from '../errors.js'
import { inPart, instantSchema, toMs } from '../request-params.js'
import type { App } from '../types.js'

export interface InsightRoutesDeps {
  readonly sessions: Sessions
  readonly ledger: Ledger
  readonly index: QueryIndex
}

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }
const userParams = z.strictObject({ id: z.string().regex(/^[a-z2-7]{32}$/, { error: 'expected a 32-character user id' }) })
const loinc = z.string().regex(/^\d{1,7}-\d$/, { error: 'expected a LOINC code such as 8480-6' })

export function registerInsightRoutes (app: App, deps: InsightRoutesDeps): void {
  const { sessions, index } = deps
  const target = (request: { params: unknown }) => `user:${(request.params as { id?: string }).id ?? ''}`

  app.get('/v1/users/:id/series', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'read', target }),
    schema: {
      summary: 'One measurement (LOINC code) over time across every institution that wrote it: count, min, max, mean, latest, change, out-of-range flags',
      tags: ['insights'], params: userParams, security: BEARER_SECURITY,
      querystring: z.strictObject({
        code: loinc, since: instantSchema.optional(), until: instantSchema.optional(), unit: z.string().max(32).optional(),
        source: z.enum(['exam', 'exercise']).optional()
      }),
      response: { 200: z.unknown(), ...errors }
    }
  }, async (request) => {
    const user = ownOrAny(request, deps)
    const q = request.query
    return inPart('query', () => index.series(user, q.code, {
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.unit === undefined ? {} : { unit: q.unit }),
      ...(q.source === undefined ? {} : { source: q.source })
    }))
  })

  app.get('/v1/users/:id/exercise', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'read', target }),
    schema: {
      summary: 'Daily or weekly exercise summaries: steps, distance, active energy, mean heart rate',
      tags: ['insights'], params: userParams, security: BEARER_SECURITY,
      querystring: z.strictObject({
        period: z.enum(['day', 'week']), since: instantSchema.optional(), until: instantSchema.optional(),
        utcOffsetMinutes: z.string().regex(/^-?\d{1,4}$/, { error: 'expected minutes, e.g. 60 or -300' }).optional()
      }),
      response: { 200: z.unknown(), ...errors }
    }
  }, async (request) => {
    const user = ownOrAny(request, deps)
    const q = request.query
    return inPart('query', () => index.exerciseSummary(user, q.period, {
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes: Number(q.utcOffsetMinutes) })
    }))
  })

  app.post('/v1/trace', {
    ...requireAuth(sessions, { roles: ['inquirer'], action: 'read', target: (r) => `trace:${String((r.body as { userId?: unknown } | undefined)?.userId ?? '')}` }),
    schema: {
      summary: 'Contact tracing: every user whose location points came within radiusMetres and windowMinutes of the given user\'s, in [since, until)',
      tags: ['insights'], security: BEARER_SECURITY,
      body: z.strictObject({
        userId: z.string().regex(/^[a-z2-7]{32}$/, { error: 'expected a 32-character user id' }),
        since: instantSchema, until: instantSchema,
        radiusMetres: z.number().positive().max(10_000),
        windowMinutes: z.number().min(0).max(1_440)
      }),
      response: { 200: z.unknown(), ...errors }
    }
  }, async (request) => {
    const body = request.body
    const user = body.userId as UserId
    if (!deps.ledger.hasChain(user)) throw notHeld(user)
    return { userId: user, contacts: inPart('body', () => index.trace(user, { since: Date.parse(body.since), until: Date.parse(body.until), radiusMetres: body.radiusMetres, windowMinutes: body.windowMinutes })) }
  })

  app.get('/v1/statistics', {
    ...requireAuth(sessions, { roles: ['inquirer', 'regulator'], action: 'read', target: () => 'statistics' }),
    schema: {
      summary: 'Counts and distributions by measurement code and period over plain segments; buckets of fewer than 5 users suppressed',
      tags: ['insights'], security: BEARER_SECURITY,
      querystring: z.strictObject({
        period: z.enum(['day', 'week', 'month']), code: loinc.optional(), since: instantSchema.optional(), until: instantSchema.optional(),
        source: z.enum(['exam', 'exercise']).optional(),
        minUsers: z.string().regex(/^\d{1,6}$/, { error: `expected a whole number of users, ${MIN_SUPPRESSION_K} to ${MAX_MIN_USERS}` }).optional()
      }),
      response: { 200: z.unknown(), ...errors }
    }
  }, async (request) => {
    const q = request.query
    return inPart('query', () => index.statistics({
      period: q.period,
      ...(q.code === undefined ? {} : { code: q.code }),
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.source === undefined ? {} : { source: q.source }),
      ...(q.minUsers === undefined ? {} : { minUsers: Number(q.minUsers) })
    }))
  })
}

/** The user in the path: a user may ask only about themself; the chain must be held here. */
function ownOrAny (request: { params: { id: string } }, deps: InsightRoutesDeps): UserId {
  const session = sessionOf(request as never)
  const user = request.params.id as UserId
  if (session.role === 'user' && session.subject !== user) throw new NodeError('FORBIDDEN', 'a user reads their own chain only')
  if (!deps.ledger.hasChain(user)) throw notHeld(user)
  return user
}

function notHeld (user: UserId): LedgerError {
  return new LedgerError('UNKNOWN_CHAIN', `no chain is held here for user ${user}`)
}
