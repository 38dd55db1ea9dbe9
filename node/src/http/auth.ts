/**
 * requireAuth: the guard every route that reads or writes puts in front of
 * its handler. It checks the bearer token (401: MISSING_TOKEN,
 * MALFORMED_TOKEN, UNKNOWN_TOKEN, EXPIRED_TOKEN, REVOKED_KEY), then the role
 * (403 FORBIDDEN), and it turns on the audit line for the route, so a
 * guarded route cannot forget to audit. The token is checked first of all
 * (onRequest), before the body is read or anything validated: a caller
 * without a valid token learns nothing of the route's schema and costs no
 * parsing, and a valid token's bad input is logged under its holder, not
 * `anonymous`. The role is checked once the body is parsed and before it
 * is validated (preValidation), so a refused write's line still names the
 * user it aimed at:
 *
 *   app.get('/v1/users/:id/entries', {
 *     ...requireAuth(deps.sessions, { roles: ['examiner', 'user'], action: 'read', target: (r) => `user:${r.params.id}` }),
 *     schema: { params, querystring, response, security: BEARER_SECURITY },
 *   }, handler)
 *
 * Handlers read the caller with `sessionOf(request)`.
 */
import type { FastifyRequest, onRequestAsyncHookHandler, preValidationAsyncHookHandler } from 'fastify'
import type { Role } from '@healthchain/core'
import { actorOf, type Sessions } from '../auth/sessions.js'
import type { Session } from '../auth/tokens.js'
import type { AuditAction } from '../audit/audit-line.js'
import { NodeError } from '../errors.js'
import type { AuditRouteConfig } from './audit-hook.js'
import { auditContextOf } from './request-context.js'

/** For a guarded route's `schema.security` in the OpenAPI document. */
export const BEARER_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }]

export interface RequireAuthOptions {
  readonly roles: readonly Role[]
  readonly action: AuditAction
  readonly target?: AuditRouteConfig['target']
}

export interface GuardedRouteOptions {
  readonly onRequest: onRequestAsyncHookHandler
  readonly preValidation: preValidationAsyncHookHandler
  readonly config: { readonly audit: AuditRouteConfig }
}

const BEARER = /^Bearer +(\S+) *$/i

export function requireAuth (sessions: Sessions, opts: RequireAuthOptions): GuardedRouteOptions {
  const roles: ReadonlySet<Role> = new Set(opts.roles)
  // The token first of all, before the body is read.
  const onRequest: onRequestAsyncHookHandler = async function (request) {
    const header = request.headers.authorization
    if (header === undefined || header === '') throw new NodeError('MISSING_TOKEN', 'log in first: send Authorization: Bearer <token>')
    const match = BEARER.exec(header)
    if (match === null) throw new NodeError('MALFORMED_TOKEN', 'expected Authorization: Bearer <token>')
    const session = await sessions.authenticate(match[1]!)
    const context = auditContextOf(request)
    context.actor = actorOf(session)
    context.role = session.role
    context.session = session
  }
  // The role once the body is parsed (so a refused write's audit line still names its target), before it is validated.
  const preValidation: preValidationAsyncHookHandler = async function (request) {
    const role = auditContextOf(request).role
    if (role === undefined || !roles.has(role)) throw new NodeError('FORBIDDEN', `role ${role ?? '(none)'} may not ${opts.action} here: this needs ${[...roles].join(' or ')}`)
  }
  return { onRequest, preValidation, config: { audit: { action: opts.action, ...(opts.target === undefined ? {} : { target: opts.target }) } } }
}

/** The session requireAuth admitted; a route without requireAuth has none (INTERNAL: a wiring bug). */
export function sessionOf (request: FastifyRequest): Session {
  const session = auditContextOf(request).session
  if (session === undefined) throw new NodeError('INTERNAL', 'sessionOf: the route is not guarded by requireAuth')
  return session
}
