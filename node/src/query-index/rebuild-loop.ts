/**
 * The walk over every chain a rebuild makes, shared by both backends: each
 * chain indexed (and closed again unless in use: a rebuild must not hold
 * every chain in memory), progress after each, a chain that fails recorded
 * and left at its cursor. Resetting and re-creating the tables around it is
 * the backend's.
 *
 * Four chains are under way at a time: while some wait for their blocks
 * (storage reads run off the main thread) or for their rows to be written
 * (by SQLite's writing thread, or PostgreSQL), the others decode. With
 * two, the main thread sat idle a quarter of the time; six measured no
 * better than four in `npm run bench` (0.73x against 0.75x the raw read,
 * medians of 3 runs) and holds two more chains open.
 */
import type { UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import type { IndexResult, RebuildProgress, RebuildResult } from './query-index.js'

/** Chains indexed at once (see above). */
export const REBUILD_CHAINS_AT_ONCE = 4

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
  let next = 0
  let stop: { error: unknown } | undefined
  const lane = async (): Promise<void> => {
    while (next < users.length && stop === undefined) {
      const user = users[next++]!
      try {
        const result = await ledger.withChain(user, async (chain) => await loop.indexChain(chain, user))
        progress = { ...progress, entriesDone: progress.entriesDone + result.entries, rows: progress.rows + result.observations + result.locations }
      } catch (error) {
        if (loop.closed()) {
          stop ??= { error }
          return
        }
        failed.push({ user, error })
      }
      progress = { ...progress, chainsDone: progress.chainsDone + 1 }
      onProgress?.(progress)
    }
  }
  await Promise.all(Array.from({ length: Math.min(REBUILD_CHAINS_AT_ONCE, users.length) }, lane))
  if (stop !== undefined) throw stop.error
  return { ...progress, failed }
}
