/**
 * The insight routes: parse, call the insight service (services/insights.ts), answer.
 *
 *   GET  /v1/users/{id}/series?code=…      user (own), examiner   one measurement over time, with statistics
 *   GET  /v1/users/{id}/exercise?period=…  user (own), examiner   daily or weekly exercise summaries
 *   POST /v1/trace                         inquirer               contact tracing from location points
 *   GET  /v1/statistics?period=…           inquirer, regulator    aggregates, small cells suppressed
 *
 * Every route is audited (requireAuth). A refusal of the index's own checks
 * (a window too long, say) names its field in the request part it came from.
 */
import {
  errorReplies, exerciseQuerySchema, exerciseReplySchema, seriesQuerySchema, seriesReplySchema, statisticsQuerySchema, statisticsReplySchema,
  traceReplySchema, traceRequestSchema, userParamsSchema
} from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import type { InsightService } from '../../services/insights.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { inPart, toMs, userTarget } from '../request-params.js'
import type { App } from '../types.js'

export interface InsightRoutesDeps {
  readonly sessions: Sessions
  readonly insights: InsightService
}

export function registerInsightRoutes (app: App, deps: InsightRoutesDeps): void {
  const { sessions, insights } = deps

  app.get('/v1/users/:id/series', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'read', target: userTarget }),
    schema: {
      summary: 'One measurement (LOINC code) over time across every institution that wrote it: count, min, max, mean, latest, change, out-of-range flags',
      tags: ['insights'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      querystring: seriesQuerySchema,
      response: { 200: seriesReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const q = request.query
    return inPart('query', () => insights.series(sessionOf(request), request.params.id, q.code, {
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.unit === undefined ? {} : { unit: q.unit }),
      ...(q.source === undefined ? {} : { source: q.source })
    }))
  })

  app.get('/v1/users/:id/exercise', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'read', target: userTarget }),
    schema: {
      summary: 'Daily or weekly exercise summaries: steps, distance, active energy, mean heart rate',
      tags: ['insights'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      querystring: exerciseQuerySchema,
      response: { 200: exerciseReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const q = request.query
    return inPart('query', () => insights.exercise(sessionOf(request), request.params.id, q.period, {
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes: Number(q.utcOffsetMinutes) })
    }))
  })

  app.post('/v1/trace', {
    ...requireAuth(sessions, { roles: ['inquirer'], action: 'read', target: (r) => `trace:${String((r.body as { userId?: unknown } | undefined)?.userId ?? '')}` }),
    schema: {
      summary: 'Contact tracing: every user whose location points came within radiusMetres and windowMinutes of the given user\'s, in [since, until)',
      tags: ['insights'],
      security: BEARER_SECURITY,
      body: traceRequestSchema,
      response: { 200: traceReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const body = request.body
    const opts = { since: Date.parse(body.since), until: Date.parse(body.until), radiusMetres: body.radiusMetres, windowMinutes: body.windowMinutes }
    return inPart('body', () => insights.trace(body.userId, opts))
  })

  app.get('/v1/statistics', {
    ...requireAuth(sessions, { roles: ['inquirer', 'regulator'], action: 'read', target: () => 'statistics' }),
    schema: {
      summary: 'Counts and distributions by measurement code and period over plain segments; buckets of fewer than 5 users suppressed',
      tags: ['insights'],
      security: BEARER_SECURITY,
      querystring: statisticsQuerySchema,
      response: { 200: statisticsReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const q = request.query
    return inPart('query', () => insights.statistics({
      period: q.period,
      ...(q.code === undefined ? {} : { code: q.code }),
      ...(q.since === undefined ? {} : { since: toMs(q.since) }),
      ...(q.until === undefined ? {} : { until: toMs(q.until) }),
      ...(q.source === undefined ? {} : { source: q.source }),
      ...(q.minUsers === undefined ? {} : { minUsers: Number(q.minUsers) })
    }))
  })
}
