/** GET /v1/status: who this node is and how it is doing. Open to anyone who can reach the API (bound to loopback by default); not audited, as it reads nobody's data. */
import { INSTITUTION_ROLES, type InstitutionId, type InstitutionRole } from '@healthchain/core'
import { z } from 'zod'
import { errorBodySchema } from '../errors.js'
import type { App } from '../types.js'

export const statusSchema = z.object({
  name: z.string().describe('the institution id this node runs as'),
  role: z.enum(INSTITUTION_ROLES),
  peerId: z.string().nullable().describe('libp2p peer id; null while the network is not started'),
  connectedPeers: z.array(z.string()).describe('peer ids of the institutions this node is connected to'),
  chainsHeld: z.int().min(0).describe('user chains held here, as custodian or replica'),
  replicationLag: z.object({
    chainsBehind: z.int().min(0).describe('chains for which a longer head was seen than is held here'),
    blocksBehind: z.int().min(0).describe('blocks missing over those chains')
  }).nullable().describe('null until the network reports it')
}).describe('node status')

export type NodeStatusReport = z.infer<typeof statusSchema>

/** What the network and ledger know; name and role come from the config. */
export type StatusFields = Omit<NodeStatusReport, 'name' | 'role'>
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
      querystring: z.strictObject({}),
      response: { 200: statusSchema, '4XX': errorBodySchema, '5XX': errorBodySchema }
    }
  }, async () => {
    const fields = await deps.status()
    return { name: deps.name, role: deps.role, ...fields }
  })
}
