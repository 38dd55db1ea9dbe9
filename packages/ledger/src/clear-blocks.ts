/**
 * Clearing erased blocks, in a chain's core and in the earlier cores of a
 * chain that moved. A continuation core's blocks below N are copies of the
 * old core's, and every node that held the old core keeps it (closed at N)
 * as history: an erasure naming a position below N must clear that copy
 * too, or the erased bytes stay in that node's data. Each core is cleared
 * the same way: its leaf and tree nodes are kept, so the old core still
 * proves its head at N, and the bytes are scrubbed off the store's files.
 */
import type Corestore from 'corestore'
import Hypercore from 'hypercore'
import type { ChainLayout } from './chain-segments.js'
import type { ErasedLeaves } from './erased-leaves.js'
import { scrubErased } from './scrub-erased.js'
import { restoreTreeNodes, storedLeaves, treeNodesAround } from './tree-audit.js'

/** Opens a core this node holds under `key` (a session the caller closes), or undefined if it holds none. */
export type HeldCoreOpener = (key: Uint8Array) => Promise<Hypercore | undefined>

/** The opener of the cores `store` holds; never creates one (a key not stored is undefined). */
export function heldCoreOpener (store: Corestore): HeldCoreOpener {
  return async (key) => {
    if (!(await store.storage.hasCore(Hypercore.discoveryKey(key)))) return undefined
    const core = store.get({ key, active: false })
    try {
      await core.ready()
    } catch (err) {
      await core.close().catch(() => {})
      throw err
    }
    return core
  }
}

/** Clears blocks' data, first keeping their leaf nodes so the rest of the core stays provable; returns the positions it cleared. */
export async function clearBlocks (core: Hypercore, erased: ErasedLeaves, positions: readonly number[]): Promise<number[]> {
  const present = await presentIn(core, positions)
  if (present.length === 0) return present
  const leaves = await storedLeaves(core, present)
  await erased.record(core.key!, leaves.filter((l): l is NonNullable<typeof l> => l !== null))
  // clear() also drops tree nodes that proofs for peers behind the erasure need: put them back (hashes only).
  const nodes = await treeNodesAround(core, present)
  for (const seq of present) await core.clear(seq)
  await restoreTreeNodes(core, nodes)
  await scrubErased(core, erased, present)
  return present
}

/**
 * Clears `positions` in every earlier core of the chain laid out as
 * `layout` that this node holds: in each, the positions below where the
 * next core took over (the old core's copy of them). Cores not held here
 * are skipped: nothing of them is in this node's data.
 */
export async function clearInEarlierCores (
  layout: ChainLayout, positions: Iterable<number>, erased: ErasedLeaves, open: HeldCoreOpener
): Promise<void> {
  const targets = [...positions]
  if (targets.length === 0) return
  for (const segment of layout.segments.slice(0, -1)) {
    const below = targets.filter((seq) => seq < segment.end!)
    if (below.length === 0) continue
    const core = await open(segment.key)
    if (core === undefined) continue
    try {
      await clearBlocks(core, erased, below)
    } finally {
      await core.close()
    }
  }
}

/** The positions among `positions` whose block `core` stores. */
export async function presentIn (core: Hypercore, positions: readonly number[]): Promise<number[]> {
  const present: number[] = []
  for (const seq of positions) if (await core.has(seq)) present.push(seq)
  return present
}
