/**
 * A light peer's identity is its user's signing key in force
 * (membership-gate.ts). The gate refuses a rotated-out key at the next
 * connection; this cuts off a phone already connected with it as soon as
 * the rekey that retired it is folded here (written by this custodian, or
 * fetched from a peer): on every change to a chain whose user has a light
 * channel open, the chain's key in force is compared with each such
 * channel's identity, and a channel under another key is dropped at once
 * (nothing more of the chain reaches it) and its connection closed
 * `RETIRED_GRACE_MS` later: the phone that wrote the rekey itself is one of
 * them, and the custodian's answer to that append is still on its way on
 * the same connection. Every other service asks the gate per request, which
 * refuses the key once recorded. Reading the key from the chain itself, not from the catalog,
 * does not wait for the catalog's record of the new key (written after the
 * change is told); by the time the phone redials, the gate refuses it.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { BaseHost } from './host.js'

/** How long a retired key's connection stays open after its channel was dropped, for answers in flight. */
export const RETIRED_GRACE_MS = 1_000

interface LightChannels {
  hasLightPeerOf: (user: UserId) => boolean
  revokeRetired: (user: UserId, sign: Uint8Array) => string[]
}

/** Starts watching the ledger's chain changes; returns the function that stops it. */
export function watchRetiredKeys (host: BaseHost, ledger: Ledger, channels: LightChannels): () => void {
  return ledger.onChange(({ user }) => {
    // The common case, a chain with no phone connected, costs one map lookup.
    if (!channels.hasLightPeerOf(user)) return
    void cutOffRetired(host, ledger, channels, user).catch(() => {})
  })
}

async function cutOffRetired (host: BaseHost, ledger: Ledger, channels: LightChannels, user: UserId): Promise<void> {
  const sign = (await ledger.chain(user)).user?.sign
  if (sign === undefined) return
  const retired = channels.revokeRetired(user, sign)
  if (retired.length === 0) return
  setTimeout(() => {
    for (const peer of retired) {
      for (const connection of host.getConnections(peerIdFromString(peer))) connection.close().catch(() => {})
    }
  }, RETIRED_GRACE_MS).unref()
}
