/**
 * This node's own audit log, a page at a time, for its staff. Without
 * `start`, the last `limit` lines; `length` says how many there are, so a
 * caller pages backwards or follows the tail.
 */
import type { AuditReply } from '../api/node.js'
import type { AuditLog } from '../audit/audit-log.js'

export interface AuditComponents {
  readonly audit: Pick<AuditLog, 'length' | 'read'>
}

export interface AuditService {
  page (opts: { readonly start?: number | undefined, readonly limit: number }): Promise<AuditReply>
}

export function createAuditService (components: AuditComponents): AuditService {
  const { audit } = components
  return {
    async page ({ start: asked, limit }) {
      const length = audit.length
      const start = Math.min(asked ?? Math.max(0, length - limit), length)
      const end = Math.min(length, start + limit)
      const lines = await audit.read(start, end)
      return { length, lines: lines.map(({ seq, line: { v: _v, ...line } }) => ({ seq, ...line })) }
    }
  }
}
