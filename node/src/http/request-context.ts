/**
 * What the audit hook needs to know about a request, filled in as the
 * request goes: who (once a login or token names them), and the error code
 * of a refusal. Kept beside the request (not on it) so no Fastify type has
 * to be widened.
 */
import type { FastifyRequest } from 'fastify'
import type { Role } from '@healthchain/core'
import type { Session } from '../auth/tokens.js'

export interface AuditContext {
  /** `anonymous` until a token or a login attempt names someone. */
  actor: string
  role: Role | undefined
  /** The error code the audit line records, if the request was refused (a precise reason the caller may not have been told). */
  code: string | undefined
  /** The error code the caller was told, if the request was refused. */
  answered: string | undefined
  /** The authenticated session, set by requireAuth. */
  session: Session | undefined
}

const contexts = new WeakMap<FastifyRequest, AuditContext>()

export function auditContextOf (request: FastifyRequest): AuditContext {
  let context = contexts.get(request)
  if (context === undefined) {
    context = { actor: 'anonymous', role: undefined, code: undefined, answered: undefined, session: undefined }
    contexts.set(request, context)
  }
  return context
}
