/**
 * The blocks a custodian's chain appended last, kept in memory so the
 * readers that come right after an append (the node's query-index
 * follower, a read of what was just written) are answered without a
 * storage read on the event loop. Only blocks Hypercore has written are put
 * here (after the append, before it is acknowledged), so the cache never
 * holds more than the chain does. The encoded block is kept, not the entry
 * object the writer had: a reader decodes it as it would decode the stored
 * block, so it sees exactly what a storage read gives (an entry object as
 * submitted can differ from its canonical encoding's decoding).
 *
 * Bounded per chain: the newest batch is always kept whole (at most one
 * append's entries), older ones only while the total stays within
 * `capacity`; the chain drops it all when it closes. An erased position is
 * never served from here: UserChain.get checks erasures first, and that
 * the block is still stored (a block cleared underneath is reported
 * missing, as without the cache); `forget` drops what an erasure clears.
 */

/** Entries kept besides the newest batch: a follower a few appends behind still reads from memory. */
export const RECENT_ENTRIES = 64

export class RecentEntries {
  private readonly bySeq = new Map<number, Uint8Array>()
  private readonly capacity: number

  constructor (capacity: number = RECENT_ENTRIES) {
    this.capacity = capacity
  }

  /** Blocks just written, in position order. */
  add (written: ReadonlyArray<{ readonly seq: number, readonly block: Uint8Array }>): void {
    // Oldest first out (a Map iterates in insertion order, and positions only grow).
    for (const seq of this.bySeq.keys()) {
      if (this.bySeq.size + written.length <= this.capacity) break
      this.bySeq.delete(seq)
    }
    for (const { seq, block } of written) this.bySeq.set(seq, block)
  }

  get (seq: number): Uint8Array | undefined {
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
