/**
 * The regulator's calls: the network as this node sees it, a chain's
 * integrity report and its signed head with the witnesses' cosignatures,
 * and finding a chain by the start of its user id.
 */
import {
  chainHeadReplySchema, findUsersReplySchema, networkReplySchema, verifyReplySchema,
  type ChainHeadReply, type FindUsersReply, type NetworkReply, type VerifyReply
} from '@healthchain/node/api'
import { request } from '../api.js'

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
