/**
 * The walk over every chain a rebuild makes, shared by both backends: each
 * chain indexed in turn (and closed again unless in use: a rebuild must not
 * hold every chain in memory), progress after each, a chain that fails
 * recorded and left at its cursor. Resetting and re-creating the tables
 * around it is the backend's.
 */
import type { UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import type { IndexResult, RebuildProgress, RebuildResult } from './query-index.js'

export interface RebuildLoop {
  readonly indexChain: (chain: UserChain, user: UserId) => Promise<IndexResult>
  /** Whether the index was closed meanwhile: the rebuild then stops with the error at hand. */
  readonly closed: () => boolean
}

/** Indexes every chain of `ledger`; the result without its `ms`, which the caller times with its own set-up. */
export async function indexEveryChain (ledger: Ledger, loop: RebuildLoop, onProgress?: (progress: RebuildProgress) => void): Promise<Omit<RebuildResult, 'ms'>> {
  const users = ledger.users()
  const failed: Array<{ user: UserId, error: unknown }> = []
  let progress: RebuildProgress = { chainsDone: 0, chainsTotal: users.length, entriesDone: 0, rows: 0 }
  onProgress?.(progress)
  for (const user of users) {
    try {
      const result = await ledger.withChain(user, async (chain) => await loop.indexChain(chain, user))
      progress = { ...progress, entriesDone: progress.entriesDone + result.entries, rows: progress.rows + result.observations + result.locations }
    } catch (error) {
      if (loop.closed()) throw error
      failed.push({ user, error })
    }
    progress = { ...progress, chainsDone: progress.chainsDone + 1 }
    onProgress?.(progress)
  }
  return { ...progress, failed }
}
