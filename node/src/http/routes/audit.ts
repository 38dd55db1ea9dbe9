/**
 * GET /v1/audit?start=&limit= — this node's own audit log, for its staff.
 *
 * The lines hold no secrets and no health data (audit-line.ts), but they do
 * say who read or wrote whose chain, so only an API-key login of this node
 * reads them (the node's role is the only role its keys can have). Reading
 * the log is itself a line (`read`, target `audit-log`).
 *
 * Without `start`, the last `limit` lines; `length` says how many there are,
 * so a caller pages backwards or follows the tail.
 */
import { INSTITUTION_ROLES } from '@healthchain/core'
import { z } from 'zod'
import type { AuditLog } from '../../audit/audit-log.js'
import { AUDIT_ACTIONS, AUDIT_RESULTS } from '../../audit/audit-line.js'
import type { Sessions } from '../../auth/sessions.js'
import { BEARER_SECURITY, requireAuth } from '../auth.js'
import { errorBodySchema } from '../errors.js'
import type { App } from '../types.js'

export interface AuditRoutesDeps {
  readonly sessions: Sessions
  readonly audit: AuditLog
}

export const DEFAULT_AUDIT_PAGE = 100
export const MAX_AUDIT_PAGE = 1000

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }

// Plain digits only, as the entries route takes positions: z.coerce would read `?start=` as 0 (and `0x10`, `1e3` as numbers) instead of refusing them.
const digits = (name: string, what: string) => z.string().regex(/^\d{1,15}$/, { error: `expected ${what} as a non-negative integer` }).transform(Number)

const auditQuerySchema = z.strictObject({
  start: digits('start', 'the first position').optional().describe('first position; default: the last `limit` lines'),
  limit: digits('limit', 'the number of lines').pipe(z.int().min(1).max(MAX_AUDIT_PAGE)).default(DEFAULT_AUDIT_PAGE)
})

const auditLineViewSchema = z.object({
  seq: z.int(),
  time: z.string(),
  actor: z.string().describe('anonymous, governance, key:<api key id> or user:<user id>'),
  role: z.string().optional(),
  action: z.enum(AUDIT_ACTIONS),
  target: z.string().optional(),
  from: z.string().describe('the remote address of the request'),
  result: z.enum(AUDIT_RESULTS),
  code: z.string().optional().describe('the refusal\'s error code'),
  count: z.int().optional().describe('refusals alike from one source this line stands for, when more than its own'),
  since: z.string().optional().describe('with count: when the first of them happened (`time`: when they were written)')
})

export function registerAuditRoutes (app: App, deps: AuditRoutesDeps): void {
  app.get('/v1/audit', {
    ...requireAuth(deps.sessions, { roles: INSTITUTION_ROLES, action: 'read', target: () => 'audit-log' }),
    schema: {
      summary: 'This node\'s audit log: every login attempt and every guarded request (staff of this node)',
      tags: ['node'], querystring: auditQuerySchema, security: BEARER_SECURITY,
      response: { 200: z.object({ length: z.int(), lines: z.array(auditLineViewSchema) }), ...errors }
    }
  }, async (request) => {
    const length = deps.audit.length
    const { limit } = request.query
    const start = Math.min(request.query.start ?? Math.max(0, length - limit), length)
    const end = Math.min(length, start + limit)
    const lines = await deps.audit.read(start, end)
    return { length, lines: lines.map(({ seq, line: { v: _v, ...line } }) => ({ seq, ...line })) }
  })
}
