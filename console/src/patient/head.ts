/**
 * The chain's signed head, checked on this device: the custodian's
 * signature and the binding of its signing key to the chain key
 * (verifyHead of @healthchain/net/browser), that it covers at least what
 * the timeline shows, and the regulators' cosignatures against their
 * signing keys in the registry. A quorum of cosignatures means the
 * custodian cannot show this device a history it hides from the others.
 */
import type { Prologue } from '@healthchain/core'
import { headFromJson } from '@healthchain/net/browser'
import { chainHeadReplySchema, type ChainHeadReply, type RegistryReply } from '@healthchain/node/api'
import { request } from '../api.js'
import { checkHead as checkSignedHead } from '../head-check.js'
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

/**
 * Checks `reply` for the chain `chainKey` whose timeline shows `shown`
 * positions (the checks themselves: ../head-check.ts); `prologue`: the
 * core's manifest prologue when the chain moved (checkEntries gives it).
 */
export function checkHead (reply: ChainHeadReply, chainKey: string, shown: number, registry: RegistryReply, prologue?: Prologue): HeadCheck {
  if (reply.head === null) return { state: 'none' }
  try {
    headFromJson(reply.head)
  } catch {
    return { state: 'bad', reason: 'the signed head is malformed' }
  }
  if (reply.head.key !== chainKey) return { state: 'bad', reason: 'the signed head is for another chain' }
  const checked = checkSignedHead(reply, registry, chainKey, prologue)
  if (!checked.headValid) return { state: 'bad', reason: 'the custodian\'s signature of the head does not verify' }
  const length = reply.head.length
  if (length < shown) return { state: 'bad', reason: `the signed head covers ${length} entries, fewer than the ${shown} shown` }
  const cosignedBy = new Set(checked.cosignatures.filter((c) => c.valid).map((c) => c.witness))
  return { state: 'ok', length, cosignedBy: [...cosignedBy].sort(), witnesses: reply.witnesses }
}
