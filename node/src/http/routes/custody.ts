/**
 * A chain moving to this node over HTTP (services/custody.ts does the work):
 *
 *   GET  /v1/users/{id}/continuation   user (own), examiner   the offer the user signs; the chain is
 *                                                            fetched from the peers first when short here
 *   POST /v1/users/{id}/continuation   user (own), examiner   { migrate }: the user-signed migrate for it
 *                                      examiner               { reassigned: true }: this node writes the
 *                                                            migrate itself, as a governance reassignment allows
 */
import {
  continuationOfferSchema, continuationQuerySchema, continuedReplySchema, continueRequestSchema, errorReplies, userParamsSchema
} from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import { NodeError } from '../../errors.js'
import { hexToBytes } from '../../services/chains.js'
import type { CustodyService } from '../../services/custody.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { userTarget } from '../request-params.js'
import type { App } from '../types.js'

export interface CustodyRoutesDeps {
  readonly sessions: Sessions
  readonly custody: CustodyService
}

export function registerCustodyRoutes (app: App, deps: CustodyRoutesDeps): void {
  const { sessions, custody } = deps

  app.get('/v1/users/:id/continuation', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'read', target: userTarget }),
    schema: {
      summary: 'What the user signs to move their chain to this node (fetched from the peers first when it is not complete here)',
      tags: ['custody'],
      params: userParamsSchema,
      querystring: continuationQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: continuationOfferSchema, ...errorReplies }
    }
  }, async (request) => {
    const key = request.query.chainKey
    return await custody.offer(sessionOf(request), request.params.id, key === undefined ? {} : { chainKey: hexToBytes(key) })
  })

  app.post('/v1/users/:id/continuation', {
    ...requireAuth(sessions, { roles: ['user', 'examiner'], action: 'enrol', target: userTarget }),
    schema: {
      summary: 'Move the chain here: the user\'s signed migrate, or (staff, under a governance reassignment) this node\'s own',
      tags: ['custody'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      body: continueRequestSchema,
      response: { 201: continuedReplySchema, ...errorReplies }
    }
  }, async (request, reply) => {
    const caller = sessionOf(request)
    const body = request.body
    if ('reassigned' in body) {
      if (caller.role !== 'examiner') throw new NodeError('FORBIDDEN', 'only the examiner\'s staff take a reassigned chain over')
      return await reply.code(201).send(await custody.takeOver(request.params.id))
    }
    return await reply.code(201).send(await custody.continueWith(caller, request.params.id, hexToBytes(body.migrate)))
  })
}
