/**
 * Erased entries off the disk: the ledger's side of scrub.ts.
 *
 *   UserChain.clearBlocks ─► ErasedLeaves.record (before the clear: the
 *                            blocks are owed a scrub from here on)
 *                         ─► core.clear
 *                         ─► scrubErased: startScrub, then
 *                            ErasedLeaves.scrubbed (the debt is paid) —
 *                            at once, or, for blob-sized blocks, when the
 *                            whole-store sweep ends in the background
 *                            (ErasedLeaves.scrubbedWhen; closing the ledger
 *                            waits for it)
 *   Ledger.open           ─► scrubUnfinished: every block still owed (the
 *                            process stopped in between) is scrubbed again
 *
 * Why the sweep does not hold the erasure up: it rewrites the whole store
 * (1–3 s for 217 MiB, measured), and the custodian acknowledges a write, and
 * a replica folds the chain, only after its erasures are applied. The blocks
 * are cleared (never served) and out of the log and table files by then;
 * only a blob file still holds their bytes until the sweep ends.
 *
 * Scrubbing a block twice, or one not cleared yet, does no harm: a block a
 * crash left uncleared is cleared and scrubbed when its chain opens.
 */
import type Corestore from 'corestore'
import Hypercore from 'hypercore'
import { bytesToHex } from '@healthchain/core'
import type { ErasedLeaves } from './erased-leaves.js'
import { rangesOf, startScrub } from './scrub.js'

/** After `positions` of `core` were cleared: takes their bytes off the store's files and records that they are (see above for when). */
export async function scrubErased (core: Hypercore, erased: ErasedLeaves, positions: readonly number[]): Promise<void> {
  if (positions.length === 0) return
  const leaves = erased.of(core.key!)
  const { sweep } = await startScrub(core, rangesOf(positions, (seq) => leaves.get(seq)?.size))
  if (sweep === undefined) await erased.scrubbed(core.key!, positions)
  else erased.scrubbedWhen(core.key!, positions, sweep)
}

/**
 * Scrubs the erased blocks a stopped process left owed (ErasedLeaves'
 * mark), chain by chain, opening each core only for this; a whole-store
 * sweep, if one is needed, runs on in the background. Returns how many
 * blocks it scrubbed or started to.
 */
export async function scrubUnfinished (store: Corestore, erased: ErasedLeaves): Promise<number> {
  const byChain = new Map<string, { chain: Uint8Array, seqs: number[], sizes: Map<number, number> }>()
  for (const block of erased.unscrubbed()) {
    const hex = bytesToHex(block.chain)
    let owed = byChain.get(hex)
    if (owed === undefined) byChain.set(hex, owed = { chain: block.chain, seqs: [], sizes: new Map() })
    owed.seqs.push(block.seq)
    owed.sizes.set(block.seq, block.size)
  }
  let count = 0
  for (const { chain, seqs, sizes } of byChain.values()) {
    // A chain no longer stored has nothing left to scrub (and opening it by key would create it).
    let sweep: Promise<void> | undefined
    if (await store.storage.hasCore(Hypercore.discoveryKey(chain))) {
      const core = store.get({ key: chain, active: false })
      try {
        await core.ready();
        ({ sweep } = await startScrub(core, rangesOf(seqs, (seq) => sizes.get(seq))))
      } finally {
        // The sweep runs on the store, not on this core.
        await core.close()
      }
      count += seqs.length
    }
    if (sweep === undefined) await erased.scrubbed(chain, seqs)
    else erased.scrubbedWhen(chain, seqs, sweep)
  }
  return count
}
