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
 * Memory: one entry per id, packed (head-slots.ts): about 200 bytes for a
 * chain's head (it was 0.8 KB as objects, measured with 50,000 seeded
 * chains), more for the few kept as objects (fork evidence, continuations). Any admitted member
 * can send validly signed heads of Hypercores it made up (a head verifies
 * on its own), so the log keeps two kinds of ids apart (`HeadLogBound`):
 *   - held: a chain this node holds (custodian or replica, as the ledger's
 *     catalog says) and the fork evidence of such a chain — every one kept,
 *     as many as the catalog holds (plus two per forked chain);
 *   - not held: a chain seen in a head but not (or not yet) replicated here
 *     (a `replicateAll: false` node, a genesis refused or still being
 *     fetched), and its fork evidence — at most `maxUnheld` ids, the one
 *     put least recently dropped first (counted in `dropped`). A dropped id
 *     is simply no longer served; the chain's next head logs it again.
 * A not-held id that became held meanwhile is kept when its turn to be
 * dropped comes, and leaves the not-held count. So the log holds at most
 * (held chains + 2 × held forked chains + maxUnheld) entries; with the
 * default 10,000 not-held ids that bound's variable part is about 3 MB
 * (a packed head and its id in the not-held set, about 320 bytes each).
 * Superseded and dropped entries leave tombstones in the cursor-ordered
 * array, compacted once they outnumber live entries.
 */
import { NetError } from './errors.js'
import { HeadSlots } from './head-slots.js'
import type { SignedHead } from './wire/head.js'

/** Not-held chains logged at once by default (about 3 MB). */
export const DEFAULT_MAX_UNHELD_HEADS = 10_000

/** How a HeadLog tells the ids it must keep from those it may drop, and how many of the latter it keeps. */
export interface HeadLogBound {
  /** Most ids of chains not held here logged at once; the one put least recently goes first. */
  readonly maxUnheld: number
  /** Whether `id` (a chain key in hex, or a fork's evidence `<key>/fork/a|b`) is of a chain held here: then it is never dropped. */
  readonly isHeld: (id: string) => boolean
}

export interface HeadLogPage {
  readonly heads: SignedHead[]
  /** The cursor to ask `since` next time. */
  readonly next: number
  /** Whether entries after `next` remain. */
  readonly more: boolean
}

export class HeadLog {
  /** Entries in cursor order, packed (head-slots.ts); emptied where an entry was superseded or dropped. */
  private readonly slots = new HeadSlots()
  private readonly base: number
  private cursor: number
  private tombstones = 0
  private live = 0
  private readonly bound: HeadLogBound | undefined
  /** Ids of chains not held here, least recently put first (only with a bound). */
  private readonly unheld = new Set<string>()
  /** Not-held ids dropped to stay within the bound. */
  dropped = 0

  /** Without `bound`, every id is kept (tests, tools); a node's log always has one. */
  constructor (base: number = Date.now() * 1000, bound?: HeadLogBound) {
    if (bound !== undefined && (!Number.isSafeInteger(bound.maxUnheld) || bound.maxUnheld < 0)) {
      throw new NetError('INVALID_FIELD', 'maxUnheld is a whole number, 0 or more', { field: 'maxUnheld' })
    }
    this.base = base
    this.cursor = base
    this.bound = bound
  }

  /** Ids of chains not held here in the log now (0 without a bound). */
  get unheldSize (): number { return this.unheld.size }

  get size (): number { return this.live }
  /** The cursor of the newest entry (or the starting cursor). */
  get current (): number { return this.cursor }

  get (id: string): SignedHead | undefined {
    const at = this.slots.find(id)
    return at < 0 ? undefined : this.slots.head(at)
  }

  /** Records `head` as the newest for `id`, with a new cursor. */
  put (id: string, head: SignedHead): void {
    const at = this.slots.find(id)
    if (at >= 0) {
      this.slots.clear(at)
      this.tombstones++
    } else {
      this.live++
    }
    this.cursor++
    this.slots.push(id, head, this.cursor)
    this.keepWithinBound(id)
    if (this.tombstones > 1024 && this.tombstones > this.live) this.compact()
  }

  /**
   * After a put: a held id leaves the not-held count (a chain that became
   * held is logged as any held chain); a not-held one becomes the most
   * recent, and the least recent not-held ids beyond the bound are dropped —
   * unless they became held meanwhile, which keeps them.
   */
  private keepWithinBound (id: string): void {
    const bound = this.bound
    if (bound === undefined) return
    this.unheld.delete(id)
    if (bound.isHeld(id)) return
    // Ids come from bytesToHex, which joins 32 two-character pieces; where Uint8Array#toHex is missing (Node 20),
    // V8 keeps such a string as that chain of pieces — measured 0.9 KB against 0.1 KB — until a character is
    // read, which flattens it in place. The not-held set keeps its ids until they are dropped.
    id.charCodeAt(0)
    this.unheld.add(id)
    while (this.unheld.size > bound.maxUnheld) {
      const oldest = this.unheld.values().next().value!
      this.unheld.delete(oldest)
      if (bound.isHeld(oldest)) continue
      this.remove(oldest)
      this.dropped++
    }
  }

  /** Takes `id` out of the log: no longer served (a peer's cursor past it loses nothing). */
  private remove (id: string): void {
    const at = this.slots.find(id)
    if (at < 0) return
    this.slots.clear(at)
    this.tombstones++
    this.live--
  }

  /** Up to `max` entries with a cursor above `since`, oldest first. */
  since (since: number, max: number): HeadLogPage {
    const from = since > this.cursor || since < this.base ? this.base : since
    const heads: SignedHead[] = []
    let next = this.cursor
    const slots = this.slots
    let i = this.firstAfter(from)
    for (; i < slots.length && heads.length < max; i++) {
      if (!slots.live(i)) continue
      heads.push(slots.head(i))
      next = slots.cursor(i)
    }
    while (i < slots.length && !slots.live(i)) i++
    return { heads, next, more: i < slots.length }
  }

  /** Index of the first slot whose entry (or, for an emptied slot, the next live entry) has a cursor above `cursor`. */
  private firstAfter (cursor: number): number {
    const slots = this.slots
    let lo = 0
    let hi = slots.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      // An emptied slot sorts as its next live neighbour; slots keep cursor order either way.
      let probe = mid
      while (probe < hi && !slots.live(probe)) probe++
      if (probe === hi) { hi = mid; continue }
      if (slots.cursor(probe) <= cursor) lo = probe + 1
      else hi = mid
    }
    return lo
  }

  private compact (): void {
    this.slots.compact()
    this.tombstones = 0
  }
}

/** First heads remembered by default, per kind (about 1.6 MB each). */
export const DEFAULT_RECENT_HEADS = 4096

export interface RecentHeadsInit {
  /** (chain, length) pairs of chains held here remembered; default 4,096. */
  readonly held?: number
  /** (chain, length) pairs of chains not held here remembered; default 4,096. */
  readonly other?: number
}

/**
 * The first head seen at each (chain, length): what a later head at the same
 * length is compared with, besides the chain's newest head — the only
 * evidence of an equivocation at a length this node's copy has not reached
 * (or, for a chain not held, at any length). Kept in two partitions, each
 * first-in first-out: pairs of chains held here (`held`, default 4,096) and
 * of other chains (`other`, default 4,096). Heads of made-up cores are never
 * of a chain held here, so a flood of them only turns the other partition
 * over and cannot make this node forget a held chain's first head. Bounded:
 * `held + other` SignedHeads (default 8,192, about 3.3 MB); a pair forgotten
 * is counted in `dropped`. A pair remembered while its chain was not held
 * stays in the other partition; both are looked up.
 */
export class RecentHeads {
  private readonly capacity: { readonly held: number, readonly other: number }
  private readonly held = new Map<string, SignedHead>()
  private readonly other = new Map<string, SignedHead>()
  /** Pairs forgotten to stay within the bound. */
  dropped = 0

  constructor (init: RecentHeadsInit = {}) {
    const held = init.held ?? DEFAULT_RECENT_HEADS
    const other = init.other ?? DEFAULT_RECENT_HEADS
    for (const [field, n] of [['held', held], ['other', other]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw new NetError('INVALID_FIELD', `${field} is a whole number, 1 or more`, { field })
    }
    this.capacity = { held, other }
  }

  /** Pairs remembered, of chains held here and of others. */
  get size (): { held: number, other: number } { return { held: this.held.size, other: this.other.size } }

  get (keyHex: string, length: number): SignedHead | undefined {
    const id = `${keyHex}:${length}`
    return this.held.get(id) ?? this.other.get(id)
  }

  /** Keeps the first head seen at (chain, length), in the partition of its kind; later ones are compared, not stored. */
  remember (keyHex: string, head: SignedHead, held: boolean): void {
    const id = `${keyHex}:${head.length}`
    if (this.held.has(id) || this.other.has(id)) return
    const [heads, capacity] = held ? [this.held, this.capacity.held] : [this.other, this.capacity.other]
    heads.set(id, head)
    if (heads.size > capacity) {
      heads.delete(heads.keys().next().value!)
      this.dropped++
    }
  }
}
