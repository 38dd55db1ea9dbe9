/**
 * The chain's signed head, checked on this device: the custodian's
 * signature and the binding of its signing key to the chain key
 * (verifyHead of @healthchain/net/browser), that it covers at least what
 * the timeline shows, and the regulators' cosignatures against their
 * signing keys in the registry. A quorum of cosignatures means the
 * custodian cannot show this device a history it hides from the others.
 */
import { fromHex } from '@healthchain/core'
import { cosignatureFromJson, headFromJson, verifyCosignature, verifyHead } from '@healthchain/net/browser'
import { chainHeadReplySchema, type ChainHeadReply, type RegistryReply } from '@healthchain/node/api'
import { request } from '../api.js'
import { crypto } from '../crypto.js'
import type { Session } from '../session.js'

export type HeadCheck =
  | { readonly state: 'none' }
  | { readonly state: 'bad', readonly reason: string }
  | {
    readonly state: 'ok'
    readonly length: number
    /** Regulators whose cosignature of a head of this chain verified. */
    readonly cosignedBy: readonly string[]
    /** The active regulators: the witnesses whose cosignatures count. */
    readonly witnesses: readonly string[]
  }

export async function loadHead (session: Session, userId: string): Promise<ChainHeadReply> {
  return await request('GET', `/v1/users/${encodeURIComponent(userId)}/head`, chainHeadReplySchema, { token: session.token, timeoutMs: 30_000 })
}

/** Checks `reply` for the chain `chainKey` whose timeline shows `shown` positions. */
export function checkHead (reply: ChainHeadReply, chainKey: string, shown: number, registry: RegistryReply): HeadCheck {
  if (reply.head === null) return { state: 'none' }
  let head
  try {
    head = headFromJson(reply.head)
  } catch {
    return { state: 'bad', reason: 'the signed head is malformed' }
  }
  if (reply.head.key !== chainKey) return { state: 'bad', reason: 'the signed head is for another chain' }
  if (!verifyHead(head, crypto)) return { state: 'bad', reason: 'the custodian\'s signature of the head does not verify' }
  if (head.length < shown) return { state: 'bad', reason: `the signed head covers ${head.length} entries, fewer than the ${shown} shown` }
  const keys = new Map(registry.institutions.filter((i) => i.role === 'regulator').map((i) => [i.id, i.sign]))
  const cosignedBy = new Set<string>()
  for (const c of reply.cosignatures) {
    const key = keys.get(c.witness)
    if (key === undefined || c.head.key !== chainKey || !reply.witnesses.includes(c.witness)) continue
    try {
      if (verifyCosignature(cosignatureFromJson(c), fromHex(key, 32, 'sign'), crypto)) cosignedBy.add(c.witness)
    } catch {
      // A malformed cosignature counts for nothing.
    }
  }
  return { state: 'ok', length: head.length, cosignedBy: [...cosignedBy].sort(), witnesses: reply.witnesses }
}
