/**
 * The HTTP API on Fastify.
 *
 * Why Fastify: request validation, response serialization and the OpenAPI
 * document all come from the same zod schemas (fastify-type-provider-zod,
 * @fastify/swagger), so the document cannot drift from what the server
 * enforces; body limits, content-type parsing with prototype-poisoning
 * protection, and graceful close are built in; it is maintained and widely
 * used. Validation is this package's own compiler (http/validation.ts) so
 * errors name the field (`body.userId: …`) the way the rest of the project
 * does.
 *
 * Request flow: per-source rate limit (429 RATE_LIMITED, http/rate-limit.ts)
 * → requireAuth's token check on guarded routes (401) → content-type parse
 * (JSON only, `api.bodyLimit`) → role check (403) → validation (400
 * BAD_REQUEST naming the field) → handler → serialization. Any error on the way becomes
 * `{ "error": { "code", "message" } }` (http/errors.ts); routes that audit
 * get their line written before the answer leaves (http/audit-hook.ts).
 *
 * Every answer carries the security headers (http/security-headers.ts); the
 * web console's files are served at `/` on the same origin when enabled
 * (http/routes/console.ts), everything under /v1/ staying the API's.
 *
 * Routes come in modules (`registerXRoutes(app, deps)`), one thin handler
 * per route: parse with the API contract (api/), call one service
 * (services/), answer. Later modules are passed in `init.routes` and
 * registered after the built-in ones.
 */
import Fastify, { LogController, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import { jsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { InstitutionId, InstitutionRole } from '@healthchain/core'
import type { Sessions } from '../auth/sessions.js'
import { DEFAULT_RATE_LIMIT_LOGINS, DEFAULT_RATE_LIMIT_REQUESTS, DEFAULT_RATE_LIMIT_WINDOW_SECONDS } from '../config.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { installRequestObservation } from '../metrics/http-hook.js'
import { installAuditHook, type AuditSink } from './audit-hook.js'
import { installRateLimit, type ApiRateLimit } from './rate-limit.js'
import { handleClientError, handleError, handleFrameworkError, handleNotFound } from './errors.js'
import { registerConsoleRoutes } from './routes/console.js'
import { registerOpenApiRoute } from './routes/openapi.js'
import { registerSessionRoutes } from './routes/session.js'
import { registerStatusRoutes, type StatusProvider } from './routes/status.js'
import { installSecurityHeaders } from './security-headers.js'
import type { App, RouteModule } from './types.js'
import { validatorCompiler } from './validation.js'

/** How long a client has to send a whole request (headers and body); a LAN upload of the largest body takes a fraction of it. */
export const REQUEST_TIMEOUT_MS = 30_000

export interface ServerComponents {
  readonly sessions: Sessions
  readonly audit: AuditSink
  readonly status: StatusProvider
  /** Where each answer is counted (route pattern, status, latency, refusal code); absent: nowhere. */
  readonly metrics?: NodeMetrics
}

export interface ServerInit {
  /** The institution id this node runs as (config `name`). */
  readonly name: InstitutionId
  readonly role: InstitutionRole
  /** Largest request body in bytes (config `api.bodyLimit`). */
  readonly bodyLimit: number
  /** Fastify's (pino) logger options (metrics/log.ts); default off. One line per request: route pattern, status, duration, never URL, headers or bodies. */
  readonly logger?: FastifyServerOptions['logger']
  /** Further route modules, registered after the built-in ones. */
  readonly routes?: readonly RouteModule[]
  /** How long a client has to send a whole request; default REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number
  /** Requests per source address and window; default DEFAULT_API_RATE_LIMIT (the config's defaults). */
  readonly rateLimit?: ApiRateLimit
  /** The web console at `/` (config `console`): absent or not enabled, `/` is a 404 like any path without a route. */
  readonly console?: { readonly enabled: boolean, readonly dir: string }
}

/** The config's default limits (config.ts says why these). */
export const DEFAULT_API_RATE_LIMIT: ApiRateLimit = {
  windowMs: DEFAULT_RATE_LIMIT_WINDOW_SECONDS * 1000, logins: DEFAULT_RATE_LIMIT_LOGINS, requests: DEFAULT_RATE_LIMIT_REQUESTS
}

/** Builds the API (not listening yet: call `app.listen({ host, port })`, and `app.close()` to stop). */
export async function createServer (components: ServerComponents, init: ServerInit): Promise<App> {
  const requestTimeoutMs = init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  const app = Fastify({
    bodyLimit: init.bodyLimit,
    logger: init.logger ?? false,
    // Fastify's own request lines log the URL (user ids); the onResponse hook logs the route pattern instead (metrics/http-hook.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // The API is meant for the institution's own network; behind a proxy, request.ip is the proxy's.
    trustProxy: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // A request must arrive in full within this time (408 after it): without a limit, a body sent halfway held its connection forever.
    requestTimeout: requestTimeoutMs,
    // Node checks the limit on a timer, often enough here that a stalled request goes within a quarter of the limit after
    // it; and it enforces the request limit only while the headers' limit is no longer (measured: with its default of
    // 60 s above a shorter request limit, a half-sent body was never timed out).
    http: { connectionsCheckingInterval: Math.max(50, Math.floor(requestTimeoutMs / 4)), headersTimeout: Math.min(60_000, requestTimeoutMs) },
    // Errors before routing and of the HTTP parser, answered in the API's error shape like every other.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler(handleNotFound)
  // JSON only: anything else is 415 rather than a string the schemas would then refuse.
  app.removeContentTypeParser('text/plain')
  // FHIR clients send their own JSON media type; it is JSON, parsed with the same protections.
  app.addContentTypeParser('application/fhir+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))
  app.addHook('onRequest', async (_request, reply) => {
    // Tokens now, health data later: nothing this API says may be cached (the console's files say otherwise for themselves).
    void reply.header('cache-control', 'no-store')
  })
  // On every answer, the API's and the console's alike, refusals included (http/security-headers.ts).
  installSecurityHeaders(app)
  await installRateLimit(app, init.rateLimit ?? DEFAULT_API_RATE_LIMIT)
  installAuditHook(app, components.audit)
  installRequestObservation(app, components.metrics)

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `healthchain node ${init.name}`, version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }
    },
    transform: jsonSchemaTransform
  })

  registerOpenApiRoute(app)
  registerStatusRoutes(app, { name: init.name, role: init.role, status: components.status })
  registerSessionRoutes(app, { sessions: components.sessions })
  for (const register of init.routes ?? []) await register(app)
  if (init.console?.enabled === true) registerConsoleRoutes(app, { dir: init.console.dir })
  return app
}
