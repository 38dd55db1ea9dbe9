/**
 * GET /v1/audit?start=&limit= — this node's own audit log, for its staff
 * (services/audit.ts pages it).
 *
 * The lines hold no secrets and no health data (audit-line.ts), but they do
 * say who read or wrote whose chain, so only an API-key login of this node
 * reads them (the node's role is the only role its keys can have). Reading
 * the log is itself a line (`read`, target `audit-log`).
 */
import { INSTITUTION_ROLES } from '@healthchain/core'
import { auditQuerySchema, auditReplySchema, errorReplies } from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import type { AuditService } from '../../services/audit.js'
import { BEARER_SECURITY, requireAuth } from '../auth.js'
import type { App } from '../types.js'

export { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE } from '../../api/node.js'

export interface AuditRoutesDeps {
  readonly sessions: Sessions
  readonly audit: AuditService
}

export function registerAuditRoutes (app: App, deps: AuditRoutesDeps): void {
  app.get('/v1/audit', {
    ...requireAuth(deps.sessions, { roles: INSTITUTION_ROLES, action: 'read', target: () => 'audit-log' }),
    schema: {
      summary: 'This node\'s audit log: every login attempt and every guarded request (staff of this node)',
      tags: ['node'],
      querystring: auditQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: auditReplySchema, ...errorReplies }
    }
  }, async (request) => await deps.audit.page(request.query))
}
