/**
 * One onResponse hook for what every answer tells the operator: the metrics
 * (requests by route pattern and status, latency, refusals by code) and the
 * request's JSON log line (request id, method, route pattern, status,
 * duration, the refusal's code).
 *
 * The route is the matched pattern (`/v1/users/:id/entries`), never the URL:
 * a URL carries user ids and query parameters, which neither a metric label
 * nor a log line may hold. Headers and bodies are never logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { auditContextOf } from '../http/request-context.js'
import { UNMATCHED_ROUTE, type NodeMetrics } from './node-metrics.js'

/** The route pattern a request matched, or UNMATCHED_ROUTE (a 404 by path, an error before routing). */
export function routeOf (request: FastifyRequest): string {
  const url = request.routeOptions.url
  // Fastify's not-found handler has no pattern (or the catch-all one); either way, the path itself must not become a label.
  return url === undefined || url === '' || request.is404 ? UNMATCHED_ROUTE : url
}

export function installRequestObservation (app: FastifyInstance, metrics: NodeMetrics | undefined): void {
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = routeOf(request)
    const status = reply.statusCode
    const code = status >= 400 ? auditContextOf(request).answered ?? `HTTP_${status}` : undefined
    const seconds = reply.elapsedTime / 1000
    metrics?.observeRequest({ route, method: request.method, status, seconds, code })
    request.log.info({
      event: 'request', method: request.method, route, status, durationMs: Math.round(reply.elapsedTime * 100) / 100, ...(code === undefined ? {} : { code })
    }, 'request answered')
  })
}
