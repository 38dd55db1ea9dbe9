/**
 * GET /v1/network: the consortium as this node sees it (services/network.ts),
 * for the institution's staff of every role. Audited like every guarded read.
 */
import { errorReplies, networkReplySchema, noQuerySchema } from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import type { NetworkService } from '../../services/network.js'
import { BEARER_SECURITY, requireAuth } from '../auth.js'
import type { App } from '../types.js'

export interface NetworkRoutesDeps {
  readonly sessions: Sessions
  readonly network: NetworkService
}

export function registerNetworkRoutes (app: App, deps: NetworkRoutesDeps): void {
  app.get('/v1/network', {
    ...requireAuth(deps.sessions, { roles: ['examiner', 'inquirer', 'regulator'], action: 'read', target: () => 'network' }),
    schema: {
      summary: 'The network as this node sees it: institutions, connections, custodians, replication lag, forks, witness decisions',
      tags: ['node'],
      querystring: noQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: networkReplySchema, ...errorReplies }
    }
  }, async () => await deps.network.view())
}
