/**
 * GET /livez and GET /readyz, for container health checks and load
 * balancers. Open to anyone who can reach the API and never audited: they
 * say whether the process answers and which readiness checks hold, nothing
 * of anybody's data. Outside /v1/ and the OpenAPI document: they are the
 * process's, not the API's.
 *
 *   /livez   200 `{ "live": true }` while the event loop answers (a stuck
 *            loop answers nothing, and the prober's timeout says so)
 *   /readyz  200 `{ "ready": true, "checks": {…}, "notReady": [] }` when
 *            every check holds (metrics/readiness.ts), else 503 with the
 *            same body, `notReady` naming the checks that fail
 */
import { livenessSchema, noQuerySchema, readinessSchema, READINESS_CHECKS } from '../../api/index.js'
import type { Readiness } from '../../metrics/readiness.js'
import type { App } from '../types.js'

export interface HealthRoutesDeps {
  readonly readiness: () => Readiness
}

export function registerHealthRoutes (app: App, deps: HealthRoutesDeps): void {
  app.get('/livez', {
    schema: { hide: true, querystring: noQuerySchema, response: { 200: livenessSchema } }
  }, async () => ({ live: true as const }))

  app.get('/readyz', {
    schema: { hide: true, querystring: noQuerySchema, response: { 200: readinessSchema, 503: readinessSchema } }
  }, async (_request, reply) => {
    const { ready, checks } = deps.readiness()
    const notReady = READINESS_CHECKS.filter((check) => !checks[check])
    return await reply.code(ready ? 200 : 503).send({ ready, checks, notReady })
  })
}
