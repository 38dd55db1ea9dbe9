/**
 * POST /v1/registry — a registry entry the governance key signed elsewhere
 * (the `healthchain admit|suspend|reinstate` CLI, on the operator's
 * machine), appended by the node whose store holds the registry.
 *
 * No bearer token: the governance signature, for this registry and its next
 * position, is the whole authority (RegistryFeed.appendSigned checks it and
 * the transition rules). Every attempt is audited as `governance`. A node
 * that does not host the registry answers 409 NOT_CUSTODIAN; a stale
 * position 422 BAD_SIGNATURE (re-sign for `length`, from GET /v1/registry).
 */
import { bytesToHex, decodeRegistryEntry } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { z } from 'zod'
import { toJson } from '../entry-view.js'
import { errorBodySchema } from '../errors.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'

export interface RegistryRoutesDeps {
  readonly ledger: Ledger
}

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }

const registrySchema = z.object({
  key: z.string().describe('the registry\'s Hypercore key (= the governance public key), hex'),
  length: z.int().describe('entries so far: the position the next entry must be signed for'),
  writable: z.boolean().describe('whether this node hosts the registry (accepts POST /v1/registry)'),
  institutions: z.array(z.object({
    id: z.string(), name: z.string(), role: z.string(), status: z.string(), peer: z.string().nullable(), addrs: z.array(z.string()),
    sign: z.string(), box: z.string(), since: z.int()
  }))
})

export function registerRegistryRoutes (app: App, deps: RegistryRoutesDeps): void {
  const { ledger } = deps
  const view = (): z.infer<typeof registrySchema> => ({
    key: bytesToHex(ledger.registry.key),
    length: ledger.registry.length,
    writable: ledger.registry.core.writable,
    institutions: ledger.registry.state.institutions().map((r) => ({
      id: r.id, name: r.name, role: r.role, status: r.status, peer: r.peer ?? null, addrs: [...r.addrs],
      sign: bytesToHex(r.sign), box: bytesToHex(r.box), since: r.since
    }))
  })

  app.get('/v1/registry', {
    schema: {
      summary: 'The consortium registry as this node has it: institutions, roles, keys, status',
      tags: ['registry'], querystring: z.strictObject({}), response: { 200: registrySchema, ...errors }
    }
  }, async () => view())

  app.post('/v1/registry', {
    config: { audit: { action: 'registry', target: () => 'registry' } },
    schema: {
      summary: 'Append a registry entry signed by the governance key (admit, suspend, reinstate, rotate)',
      tags: ['registry'],
      body: z.strictObject({ entry: z.string().regex(/^([0-9a-fA-F]{2})+$/, { error: 'expected the encoded, governance-signed registry entry as hex' }) }),
      response: { 201: z.object({ seq: z.int(), type: z.string(), plain: z.unknown() }), ...errors }
    }
  }, async (request, reply) => {
    auditContextOf(request).actor = 'governance'
    const entry = decodeRegistryEntry(new Uint8Array(Buffer.from(request.body.entry, 'hex')))
    const seq = ledger.registry.length
    await ledger.registry.appendSigned(entry)
    return await reply.code(201).send({ seq, type: entry.type, plain: toJson(entry.plain) })
  })
}
