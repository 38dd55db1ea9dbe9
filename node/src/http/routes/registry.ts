/**
 * GET /v1/registry — the consortium registry as this node has it.
 * POST /v1/registry — a registry entry the governance key signed elsewhere
 * (the `healthchain admit|suspend|reinstate` CLI, on the operator's
 * machine), appended by the node whose store holds the registry
 * (services/registry.ts).
 *
 * No bearer token: the governance signature, for this registry and its next
 * position, is the whole authority. Every attempt is audited as
 * `governance`. A node that does not host the registry answers 409
 * NOT_CUSTODIAN; a stale position 422 BAD_SIGNATURE (re-sign for `length`,
 * from GET /v1/registry).
 */
import { errorReplies, noQuerySchema, registryAppendReplySchema, registryAppendRequestSchema, registrySchema } from '../../api/index.js'
import { hexToBytes } from '../../services/chains.js'
import type { RegistryService } from '../../services/registry.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'

export interface RegistryRoutesDeps {
  readonly registry: RegistryService
}

export function registerRegistryRoutes (app: App, deps: RegistryRoutesDeps): void {
  const { registry } = deps

  app.get('/v1/registry', {
    schema: {
      summary: 'The consortium registry as this node has it: institutions, roles, keys, status',
      tags: ['registry'],
      querystring: noQuerySchema,
      response: { 200: registrySchema, ...errorReplies }
    }
  }, async () => registry.view())

  app.post('/v1/registry', {
    config: { audit: { action: 'registry', target: () => 'registry' } },
    schema: {
      summary: 'Append a registry entry signed by the governance key (admit, suspend, reinstate, rotate)',
      tags: ['registry'],
      body: registryAppendRequestSchema,
      response: { 201: registryAppendReplySchema, ...errorReplies }
    }
  }, async (request, reply) => {
    auditContextOf(request).actor = 'governance'
    return await reply.code(201).send(await registry.append(hexToBytes(request.body.entry)))
  })
}
