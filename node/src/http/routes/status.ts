/**
 * GET /v1/status: who this node is and how it is doing. Open to anyone who can reach the API (bound to loopback by default);
 * not audited, as it reads nobody's data.
 */
import type { InstitutionId, InstitutionRole } from '@healthchain/core'
import { errorReplies, noQuerySchema, statusSchema, type StatusFields } from '../../api/index.js'
import type { App } from '../types.js'

export { statusSchema, type NodeStatusReport, type StatusFields } from '../../api/node.js'

export type StatusProvider = () => StatusFields | Promise<StatusFields>

export interface StatusRoutesDeps {
  readonly name: InstitutionId
  readonly role: InstitutionRole
  readonly status: StatusProvider
}

export function registerStatusRoutes (app: App, deps: StatusRoutesDeps): void {
  app.get('/v1/status', {
    schema: {
      summary: 'Node name, role, peer id, connected peers, chains held, replication lag',
      tags: ['node'],
      querystring: noQuerySchema,
      response: { 200: statusSchema, ...errorReplies }
    }
  }, async () => {
    const fields = await deps.status()
    return { name: deps.name, role: deps.role, ...fields }
  })
}
