/**
 * One place writes every audit line of the HTTP API. A route opts in with
 * `config: { audit: { action, target? } }` (requireAuth adds it to every
 * guarded route; the login route has it too). When such a route answers —
 * granted, refused by validation, by authentication, by the role check or
 * by the handler — this `onSend` hook writes one line (who, what, from
 * where, result, code) and only then lets the answer go out. If the line
 * cannot be written the answer is replaced by 500 INTERNAL: the API never
 * reports success for anything the audit log does not hold. A refusal of a
 * caller without a valid token (no session) is marked as unauthenticated:
 * the daemon's sink counts repeated ones instead of writing each
 * (audit/audit-aggregator.ts), so a flood cannot fill the disk.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { auditLineSchema, type AuditAction } from '../audit/audit-line.js'
import type { AuditSink } from '../audit/audit-sink.js'
import { errorBody } from './errors.js'
import { auditContextOf } from './request-context.js'

export interface AuditRouteConfig {
  readonly action: AuditAction
  /** What the request acts on, e.g. `user:<id>` from the path; anything that does not fit a line is logged as `(invalid)`. */
  readonly target?: (request: FastifyRequest) => string | undefined
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Write an audit line for every answer of this route. */
    audit?: AuditRouteConfig
  }
}

export type { AuditSink } from '../audit/audit-sink.js'

function targetOf (config: AuditRouteConfig, request: FastifyRequest): string | undefined {
  if (config.target === undefined) return undefined
  let target: unknown
  try {
    target = config.target(request)
  } catch {
    return '(invalid)'
  }
  if (target === undefined) return undefined
  // Path parameters are whatever the client sent: never let one break (or smuggle into) a line.
  return auditLineSchema.shape.target.safeParse(target).success ? target as string : '(invalid)'
}

export function installAuditHook (app: FastifyInstance, audit: AuditSink): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const config = request.routeOptions.config.audit
    if (config === undefined) return payload
    const context = auditContextOf(request)
    const refused = reply.statusCode >= 400
    const target = targetOf(config, request)
    const code = context.code ?? `HTTP_${reply.statusCode}`
    try {
      await audit.append({
        actor: context.actor,
        ...(context.role === undefined ? {} : { role: context.role }),
        action: config.action,
        ...(target === undefined ? {} : { target }),
        from: request.ip,
        result: refused ? 'refused' : 'granted',
        ...(refused ? { code } : {})
      }, refused && context.session === undefined ? { unauthenticatedRefusal: { answered: context.answered ?? code } } : {})
    } catch (err) {
      request.log.error({ err }, 'audit line could not be written; answering 500')
      void reply.code(500).type('application/json; charset=utf-8')
      reply.removeHeader('www-authenticate')
      return JSON.stringify(errorBody({ code: 'INTERNAL', message: 'internal error' }))
    }
    return payload
  })
}
