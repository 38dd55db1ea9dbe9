/**
 * The regulator's calls: the network as this node sees it, a chain's
 * integrity report and its signed head with the witnesses' cosignatures,
 * its cores (a chain that moved: from its latest migrate, read and checked
 * here), and finding a chain by the start of its user id.
 */
import {
  chainHeadReplySchema, entriesReplySchema, findUsersReplySchema, networkReplySchema, verifyReplySchema,
  type ChainHeadReply, type FindUsersReply, type NetworkReply, type VerifyReply
} from '@healthchain/node/api'
import { request } from '../api.js'
import { layoutOfViews, type ChainLayout } from '../chain-keys.js'

export async function networkView (token: string): Promise<NetworkReply> {
  return await request('GET', '/v1/network', networkReplySchema, { token })
}

export async function verifyChain (token: string, userId: string): Promise<VerifyReply> {
  return await request('GET', `/v1/users/${encodeURIComponent(userId)}/verify`, verifyReplySchema, { token, timeoutMs: 60_000 })
}

export async function chainHead (token: string, userId: string): Promise<ChainHeadReply> {
  return await request('GET', `/v1/users/${encodeURIComponent(userId)}/head`, chainHeadReplySchema, { token })
}

export async function findUsers (token: string, prefix: string): Promise<FindUsersReply> {
  return await request('GET', '/v1/users', findUsersReplySchema, { token, query: { prefix, limit: 20 } })
}

/** The cores of the chain `chainKey`, from its migrate entries' plain segments, checked in this browser (chain-keys.ts). */
export async function chainLayout (token: string, userId: string, chainKey: string): Promise<ChainLayout> {
  const reply = await request('GET', `/v1/users/${encodeURIComponent(userId)}/entries`, entriesReplySchema, { token, query: { type: 'migrate' } })
  return layoutOfViews(reply.entries, chainKey)
}
