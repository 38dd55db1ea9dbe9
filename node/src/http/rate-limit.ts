/**
 * Per-source rate limits on the API, with @fastify/rate-limit (the Fastify
 * team's plugin: fixed windows per key in an LRU, Retry-After, IPv6 /64s
 * counted as one source).
 *
 * Two budgets per source address and window: `logins` for POST /v1/session,
 * POST /v1/session/challenge and the enrolment-ticket routes under
 * /v1/enrolments/{code} (what anyone may call), `requests` for
 * every other route (404s included). A request over its budget is refused
 * before its body is read or its token checked: 429 RATE_LIMITED in the
 * API's error shape, with `Retry-After` (seconds until the window ends).
 * On an audited route that refusal is audited like any other — counted,
 * as a caller who proved nothing (audit/audit-aggregator.ts).
 *
 * One hook at the application level, not the plugin's per-route hooks: a
 * route's own onRequest (requireAuth's token check) runs after the
 * application's, and a flood without a token must meet the limit first.
 * Loopback is not exempt: a development network and the tests run there.
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { NodeError } from '../errors.js'
import type { App } from './types.js'

export interface ApiRateLimit {
  /** Length of a window, ms. */
  readonly windowMs: number
  /** Logins and login challenges per source address and window. */
  readonly logins: number
  /** Any other request, per source address and window. */
  readonly requests: number
}

/** Routes that take the `logins` budget: what anyone may call, a login or an enrolment ticket's code being the credential. */
const LOGIN_ROUTES: ReadonlySet<string> = new Set(['/v1/session', '/v1/session/challenge', '/v1/enrolments/:code', '/v1/enrolments/:code/chain-key'])
/** Sources whose counts are kept; the least recently seen are forgotten first (a forgotten one starts a new window). */
const SOURCES_TRACKED = 10_000

function budgetOf (request: FastifyRequest): 'logins' | 'requests' {
  return LOGIN_ROUTES.has(request.routeOptions.url ?? '') ? 'logins' : 'requests'
}

export async function installRateLimit (app: App, limit: ApiRateLimit): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    // Only Retry-After, on a refusal: the standard header, and the one clients act on.
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': true },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false }
  })
  const hook = app.rateLimit({
    timeWindow: limit.windowMs,
    max: (request) => limit[budgetOf(request)],
    keyGenerator: (request) => `${budgetOf(request)} ${normalizeIP(request.ip)}`,
    cache: SOURCES_TRACKED,
    errorResponseBuilder: (_request, context) =>
      new NodeError('RATE_LIMITED', `too many requests from this address; try again in ${Math.max(1, Math.ceil(context.ttl / 1000))} s (Retry-After)`)
  })
  app.addHook('onRequest', hook as unknown as onRequestAsyncHookHandler)
}
