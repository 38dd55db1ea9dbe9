/**
 * GET /v1/network: the consortium as this node sees it — who is connected,
 * whose chains it holds and how far behind it is on them, which custodians
 * signed two histories, what its witness service decided.
 */
import { INSTITUTION_ROLES } from '@healthchain/core'
import { z } from 'zod'
import { hexSchema } from './common.js'

const count = z.int().min(0)

export const institutionViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(INSTITUTION_ROLES),
  status: z.string().describe('as the registry says: active, suspended…'),
  peerId: z.string().nullable(),
  connected: z.boolean().describe('this node has an open connection to it'),
  custodianOf: count.describe('chains held here whose custodian it is (counted so far: see `census`)'),
  behind: z.object({ chains: count, blocks: count }).describe('this node\'s replication lag on that custodian\'s chains'),
  forked: count.describe('chains held here with a fork proof against it')
})
export type InstitutionView = z.infer<typeof institutionViewSchema>

export const forkViewSchema = z.object({
  chainKey: hexSchema,
  userId: z.string().nullable().describe('null when this node does not hold the chain'),
  custodian: z.string().nullable().describe('the custodian the genesis names; null when this node does not hold the chain'),
  kind: z.enum(['same-length', 'consistency', 'after-move', 'two-moves'])
    .describe('two roots at one length; two lengths that disagree; the old custodian wrote on after the user moved the chain; the user signed two moves from one head'),
  length: count.describe('a length at which the two histories differ')
})
export type ForkView = z.infer<typeof forkViewSchema>

export const networkReplySchema = z.object({
  self: z.object({ name: z.string(), role: z.enum(INSTITUTION_ROLES), peerId: z.string() }),
  institutions: z.array(institutionViewSchema).describe('every institution of the registry, this one included'),
  census: z.object({ counted: count, held: count })
    .describe('chains whose custodian is counted in `custodianOf`, of the chains held: counted once each, in the background'),
  forks: z.array(forkViewSchema),
  witness: z.object({ cosigned: count, refused: z.record(z.string(), count) }).nullable()
    .describe('this node\'s witness service: cosignatures made, refusals by reason; null on a node that is no witness'),
  lag: z.object({ chainsBehind: count, blocksBehind: count }).nullable(),
  heads: z.record(z.string(), z.number()).describe('the heads service\'s counters, by dotted name (fetch.fetched, sync.failed.TIMEOUT…)')
})
export type NetworkReply = z.infer<typeof networkReplySchema>
