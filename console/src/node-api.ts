/**
 * The calls every party makes: the node's status and registry, the two
 * sign-ins, the audit log. Each party's own calls live beside its screens.
 */
import { bytesToHex, fromHex, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import {
  auditReplySchema, challengeSchema, registrySchema, sessionSchema, signLogin, statusSchema,
  type AuditReply, type RegistryReply, type SessionReply, type StatusReply
} from '@healthchain/node/api'
import { ApiFailure, request } from './api.js'
import { crypto } from './crypto.js'
import type { Session } from './session.js'

export async function nodeStatus (): Promise<StatusReply> {
  return await request('GET', '/v1/status', statusSchema)
}

export async function registry (token: string): Promise<RegistryReply> {
  return await request('GET', '/v1/registry', registrySchema, { token })
}

export async function auditLog (token: string, opts: { start?: number, limit?: number } = {}): Promise<AuditReply> {
  return await request('GET', '/v1/audit', auditReplySchema, { token, query: opts })
}

function asSession (reply: SessionReply, node: StatusReply, generations?: readonly UserKeys[]): Session {
  return {
    token: reply.token,
    role: reply.role,
    subject: reply.subject,
    expiresAt: reply.expiresAt,
    node: { name: node.name, role: node.role },
    ...(generations === undefined ? {} : { user: generations.at(-1)!, generations })
  }
}

export async function signInWithApiKey (apiKey: string): Promise<Session> {
  const node = await nodeStatus()
  const reply = await request('POST', '/v1/session', sessionSchema, { body: { apiKey: apiKey.trim() } })
  return asSession(reply, node)
}

/** Normalises a typed or pasted phrase: words in lower case, single spaces. */
export function normalisePhrase (phrase: string): string {
  return phrase.trim().toLowerCase().split(/\s+/).join(' ')
}

/** The user's keys of `generation` from the phrase, here in the browser; BAD_PHRASE if it is not a valid recovery phrase. */
export function keysFromPhrase (phrase: string, generation = 0): UserKeys {
  try {
    return userKeysFromPhrase(normalisePhrase(phrase), crypto, generation)
  } catch {
    throw new ApiFailure('BAD_PHRASE', 'This is not a valid recovery phrase: check every word (12 or 24 words, in order).', 0)
  }
}

/**
 * A patient's sign-in: keys derived from the phrase in this tab, the node's
 * challenge signed here; only the user id and the signature leave the device.
 * The node takes only the key in force (after a renewal, a later generation
 * of the same phrase): its challenge names that generation, whose keys sign
 * once; the generations before it are derived too, to check old entries and
 * open old seals.
 */
export async function signInWithPhrase (phrase: string): Promise<Session> {
  const first = keysFromPhrase(phrase)
  const node = await nodeStatus()
  const { challenge, generation } = await request('POST', '/v1/session/challenge', challengeSchema, { body: { userId: first.userId } })
  const generations = [first]
  for (let g = 1; g <= generation; g++) generations.push(keysFromPhrase(phrase, g))
  const user = generations[generation]!
  const signature = signLogin(node.name as Parameters<typeof signLogin>[0], fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto)
  const reply = await request('POST', '/v1/session', sessionSchema, {
    body: { userId: user.userId, challenge, signature: bytesToHex(signature) }
  })
  return asSession(reply, node, generations)
}
