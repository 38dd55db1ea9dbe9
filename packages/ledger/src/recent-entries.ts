/**
 * The entries a custodian's chain appended last, kept in memory so the
 * readers that come right after an append (the node's query-index
 * follower, a read of what was just written) are answered without a
 * storage read and a decode on the event loop. Only entries whose block
 * Hypercore has written are put here (after the append, before it is
 * acknowledged), so the cache never holds more than the chain does.
 *
 * Bounded per chain: the newest batch is always kept whole (at most one
 * append's entries), older ones only while the total stays within
 * `capacity`; the chain drops it all when it closes. An erased position is
 * never served from here: UserChain.get checks erasures first, and that
 * the block is still stored (a block cleared underneath is reported
 * missing, as without the cache); `forget` drops what an erasure clears.
 */
import type { Entry } from '@healthchain/core'

/** Entries kept besides the newest batch: a follower a few appends behind still reads from memory. */
export const RECENT_ENTRIES = 64

export class RecentEntries {
  private readonly bySeq = new Map<number, Entry>()
  private readonly capacity: number

  constructor (capacity: number = RECENT_ENTRIES) {
    this.capacity = capacity
  }

  /** Entries just written, in position order. */
  add (written: ReadonlyArray<{ readonly seq: number, readonly entry: Entry }>): void {
    // Oldest first out (a Map iterates in insertion order, and positions only grow).
    for (const seq of this.bySeq.keys()) {
      if (this.bySeq.size + written.length <= this.capacity) break
      this.bySeq.delete(seq)
    }
    for (const { seq, entry } of written) this.bySeq.set(seq, entry)
  }

  get (seq: number): Entry | undefined {
    return this.bySeq.get(seq)
  }

  forget (seqs: Iterable<number>): void {
    for (const seq of seqs) this.bySeq.delete(seq)
  }

  clear (): void {
    this.bySeq.clear()
  }

  get size (): number { return this.bySeq.size }
}
