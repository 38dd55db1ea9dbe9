/**
 * What the chain-route tests share: entries a user signs on their device
 * (the `{ entry, seq }` body of POST /v1/users/{id}/entries), the chain's
 * length at its custodian (to prove a refusal wrote nothing), the audit
 * lines a request left, and requests with a raw body (to send what `call`
 * cannot: broken JSON, other content types, oversized bodies).
 */
import {
  buildUserEntry, bytesToHex, encodeEntry, signEntry,
  type Entry, type ExercisePlain, type LocationPlain, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import type { AuditLine } from '../../src/index.js'
import type { Reply, TestNode } from './daemons.js'
import { crypto } from './fixtures.js'

/** A user's chain as the tests know it: the keys on the phone and the chain key the genesis was signed for. */
export interface TestChain {
  readonly user: UserKeys
  readonly chainKey: Uint8Array
}

export interface UserWriteBody {
  readonly entry: string
  readonly seq: number
}

export function exercisePlain (): ExercisePlain {
  const end = Date.now()
  return { start: end - 30 * 60_000, end, observations: [{ code: '55423-8', value: 4200, unit: '{steps}' }] }
}

export function locationPlain (): LocationPlain {
  return { points: [{ lat: 52.52, lon: 13.405, acc: 15, time: Date.now() }] }
}

/** Signs `unsigned` as the chain's user for position `seq`. */
export function signAsUser (chain: TestChain, unsigned: UnsignedEntry, seq: number): Entry {
  return signEntry(unsigned, { chainKey: chain.chainKey, seq }, chain.user.sign.secretKey, crypto)
}

/** The request body `{ entry, seq }`; `seq` is the position the body claims (a test may claim another than the one signed for). */
export function userWriteBody (entry: Entry, seq: number): UserWriteBody {
  return { entry: bytesToHex(encodeEntry(entry)), seq }
}

/** An exercise entry signed for the chain's next position at `custodian`. */
export async function nextExercise (custodian: TestNode, chain: TestChain): Promise<{ entry: Entry, body: UserWriteBody }> {
  const seq = await chainLength(custodian, chain.user.userId)
  const entry = signAsUser(chain, buildUserEntry('exercise', exercisePlain(), {}, crypto), seq)
  return { entry, body: userWriteBody(entry, seq) }
}

/** The chain's length at `node` (its custodian: what an append would change). */
export async function chainLength (node: TestNode, user: UserId): Promise<number> {
  return (await node.daemon.ledger.chain(user)).length
}

/** Audit lines `node` wrote from position `from` on. */
export async function auditSince (node: TestNode, from: number): Promise<AuditLine[]> {
  return (await node.daemon.audit.read(from)).map((l) => l.line)
}

/** A request whose body is sent exactly as given (`call` always sends JSON.stringify of its body). */
export async function sendRaw (
  url: string, method: string, path: string, opts: { token?: string, body: string | Uint8Array, contentType?: string }
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  const response = await fetch(url + path, { method, headers, body: opts.body })
  const text = await response.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: response.status, body }
}

/** Whether `key` appears as an object key anywhere in a JSON value. */
export function hasKeyAnywhere (value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => hasKeyAnywhere(v, key))
  if (value === null || typeof value !== 'object') return false
  return Object.entries(value).some(([k, v]) => k === key || hasKeyAnywhere(v, key))
}
