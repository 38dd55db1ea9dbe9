/**
 * The start of a core not held here as a user's chain, checked before the
 * node records anything of it: block 0 must be a genesis that passes the
 * chain rules (the user's signature for the first segment's key and
 * position 0 — a continuation's block 0 was written in the chain's first
 * core — and a custodian the registry lists), and for a continuation core
 * the block at its prologue must be a migrate that fits it, naming its
 * segments (Replication.fetchStart checks that).
 */
import { userIdFromKey, type Entry, type UserId } from '@healthchain/core'
import { ChainRules, LedgerError, type ChainLayout, type Ledger } from '@healthchain/ledger'
import type { FetchOptions, Replication } from './replication.js'

/** A chain's checked start: its user, its layout, and for a continuation core its migrate. */
export interface ChainStart {
  readonly user: UserId
  readonly layout: ChainLayout
  readonly migrate: Entry | undefined
}

/** The start, or the code its genesis was refused with (REGISTRY_BEHIND: this node's registry is still arriving). */
export type StartCheck = { readonly start: ChainStart } | { readonly refused: string }

/** Fetches and checks the start of the core `key`; throws what `Replication.fetchStart` throws. */
export async function checkStart (ledger: Ledger, replication: Replication, key: Uint8Array, opts: FetchOptions): Promise<StartCheck> {
  const { genesis, layout, migrate } = await replication.fetchStart(key, opts)
  try {
    if (genesis.type !== 'genesis') throw new LedgerError('BAD_GENESIS', 'block 0 is not a genesis')
    await ledger.registry.refresh()
    new ChainRules(layout.segments[0]!.key, ledger.crypto).check(genesis, 0, ledger.registry.state)
  } catch (err) {
    return { refused: err instanceof LedgerError ? err.code : 'BAD_GENESIS' }
  }
  return { start: { user: userIdFromKey(genesis.plain.user.sign), layout, migrate } }
}
