/**
 * The heads a node serves to peers reconciling with it (heads-sync): every
 * head it has verified, its own and learned ones, newest per id (an id is a
 * chain key in hex, or a fork's evidence, see heads.ts), each stamped with a
 * cursor that only grows. A peer asks for what changed `since` the last
 * cursor it received, so reconnecting costs what changed, not what is held.
 *
 * The log lives in memory, so at every start it is seeded with the stored
 * signed head of every chain held here, custodian's or replica's
 * (head-seeding.ts): a peer that restarted (asking since 0) or that kept a
 * cursor from this node's earlier run gets every chain this node holds, not
 * only the ones it appended to or heard of since.
 *
 * Cursors start at `Date.now() * 1000` so that a cursor a peer kept from an
 * earlier run of this node is below every cursor of this run, and that peer
 * gets everything again; a `since` above the current cursor (a clock that
 * went back) is treated as 0. That holds while an earlier run put fewer
 * than 1,000 heads per millisecond of its life: its last cursor is then
 * below the next run's first. The fastest putter, the seeding, reads about
 * 20,000 heads a second from storage; every other put follows a verified
 * head or an append.
 *
 * Memory: one entry per id, about 0.8 KB (a SignedHead and its bookkeeping;
 * measured with 50,000 seeded chains: 808 bytes each) — so one per chain
 * held here from the start (what the log held anyway once those chains
 * had been active), one per chain not held whose head a peer sent, and two
 * per forked chain. Superseded entries leave tombstones in the
 * cursor-ordered array, compacted once they outnumber live entries.
 */
import type { SignedHead } from './wire/head.js'

interface LogEntry {
  readonly id: string
  readonly head: SignedHead
  readonly cursor: number
}

export interface HeadLogPage {
  readonly heads: SignedHead[]
  /** The cursor to ask `since` next time. */
  readonly next: number
  /** Whether entries after `next` remain. */
  readonly more: boolean
}

export class HeadLog {
  /** Entries in cursor order; undefined where an entry was superseded. */
  private entries: Array<LogEntry | undefined> = []
  private readonly index = new Map<string, number>()
  private readonly base: number
  private cursor: number
  private tombstones = 0

  constructor (base: number = Date.now() * 1000) {
    this.base = base
    this.cursor = base
  }

  get size (): number { return this.index.size }
  /** The cursor of the newest entry (or the starting cursor). */
  get current (): number { return this.cursor }

  get (id: string): SignedHead | undefined {
    const at = this.index.get(id)
    return at === undefined ? undefined : this.entries[at]?.head
  }

  /** Records `head` as the newest for `id`, with a new cursor. */
  put (id: string, head: SignedHead): void {
    // Ids come from bytesToHex, which joins 32 two-character pieces; where Uint8Array#toHex is missing (Node 20),
    // V8 keeps such a string as that chain of pieces — measured 0.9 KB against 0.1 KB — until a character is
    // read, which flattens it in place. The log keeps its ids for as long as it runs.
    id.charCodeAt(0)
    const at = this.index.get(id)
    if (at !== undefined) {
      this.entries[at] = undefined
      this.tombstones++
    }
    this.cursor++
    this.index.set(id, this.entries.length)
    this.entries.push({ id, head, cursor: this.cursor })
    if (this.tombstones > 1024 && this.tombstones > this.index.size) this.compact()
  }

  /** Up to `max` entries with a cursor above `since`, oldest first. */
  since (since: number, max: number): HeadLogPage {
    const from = since > this.cursor || since < this.base ? this.base : since
    const heads: SignedHead[] = []
    let next = this.cursor
    let i = this.firstAfter(from)
    for (; i < this.entries.length && heads.length < max; i++) {
      const entry = this.entries[i]
      if (entry === undefined) continue
      heads.push(entry.head)
      next = entry.cursor
    }
    while (i < this.entries.length && this.entries[i] === undefined) i++
    return { heads, next, more: i < this.entries.length }
  }

  /** Index of the first slot whose entry (or, for a tombstone, the next live entry) has a cursor above `cursor`. */
  private firstAfter (cursor: number): number {
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      // A tombstone sorts as its next live neighbour; slots keep cursor order either way.
      let probe = mid
      while (probe < hi && this.entries[probe] === undefined) probe++
      if (probe === hi) { hi = mid; continue }
      if (this.entries[probe]!.cursor <= cursor) lo = probe + 1
      else hi = mid
    }
    return lo
  }

  private compact (): void {
    this.entries = this.entries.filter((e) => e !== undefined)
    this.tombstones = 0
    this.entries.forEach((e, i) => this.index.set(e!.id, i))
  }
}

/**
 * The first head seen at each (chain, length), for the last `capacity`
 * pairs: what a later head at the same length is compared with, besides the
 * chain's newest head. Bounded: `capacity` SignedHeads (default 4,096, about
 * 1.6 MB); the oldest pair is forgotten first.
 */
export class RecentHeads {
  private readonly capacity: number
  private readonly heads = new Map<string, SignedHead>()

  constructor (capacity = 4096) {
    this.capacity = capacity
  }

  get (keyHex: string, length: number): SignedHead | undefined {
    return this.heads.get(`${keyHex}:${length}`)
  }

  /** Keeps the first head seen at (chain, length); later ones are compared, not stored. */
  remember (keyHex: string, head: SignedHead): void {
    const id = `${keyHex}:${head.length}`
    if (this.heads.has(id)) return
    this.heads.set(id, head)
    if (this.heads.size > this.capacity) this.heads.delete(this.heads.keys().next().value!)
  }
}
