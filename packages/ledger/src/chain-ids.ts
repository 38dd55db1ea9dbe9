/**
 * The entry ids of a chain, for its duplicate check: a retried write with an
 * id already in the chain is recognised (and never appended twice), and a
 * replica refuses a block whose id an earlier block has.
 *
 * `MemoryIds` holds every id: for a verification pass, which folds a chain
 * once and lets it go. An open chain uses `IndexedIds`: ids on disk in the
 * chain core's own id index (block-index.ts) and in memory only those of
 * positions the index does not cover yet, at most `bound` of them: when the
 * next batch would pass the bound, the written ones go to disk first.
 *
 * The check itself is synchronous (a batch is checked inside a rules
 * transaction, with no await in between): so before a batch, `prefetch`
 * reads from disk the positions of the ids it names. A new id (nearly every
 * write) is usually known not to be on disk without reading: a Bloom filter
 * of fixed size (32 bits per id of the bound) holds every id the chain has
 * folded since it opened, which is every id of the chain, since opening
 * folds every block. It is only a shortcut: past a few times the bound of
 * ids it answers "maybe" ever more often, and then the disk is read; where
 * opening found a block absent below the index's mark (erased) it cannot
 * know that id, and every id is read from disk. An index with nothing on
 * disk (a chain shorter than the bound) is never read. Ids only move from
 * memory to disk by `flush`, which the chain runs between batches (the
 * append queue) or between blocks (ingest), never between a prefetch and
 * the checks that use it.
 *
 * After a crash, ids written to the chain but not to the index are found
 * again when the chain opens: it folds every block, and those past the
 * index's mark are added here. A block absent then (erased) takes its id
 * with it only if the index had not got it yet.
 */
import { bytesToHex } from '@healthchain/core'
import type Hypercore from 'hypercore'
import { BlockIndex } from './block-index.js'

/** What ChainRules needs of the ids: positions of ids folded, and adding and undoing them as entries are. */
export interface EntryIds {
  /** The position of `idHex`, if known to be in the chain (for an IndexedIds: in memory, or prefetched). */
  positionOf (idHex: string): number | undefined
  add (idHex: string, seq: number): void
  /** Undoes `add` (a rolled-back batch). */
  remove (idHex: string): void
  /** Position `seq` was folded without its entry (its block is absent). */
  skipped? (seq: number): void
}

export class MemoryIds implements EntryIds {
  private readonly ids = new Map<string, number>()

  positionOf (idHex: string): number | undefined { return this.ids.get(idHex) }

  add (idHex: string, seq: number): void {
    // Where Uint8Array#toHex is missing (Node 20), bytesToHex returns a chain of two-character pieces that V8 keeps as
    // such until a character is read: about 390 bytes a key against 87 once flat. Reading a character flattens it in place.
    idHex.charCodeAt(0)
    this.ids.set(idHex, seq)
  }

  remove (idHex: string): void { this.ids.delete(idHex) }
}

/** The user data name of a chain's id index (block-index.ts: its mark, and `<name>/<fork>/<id hex>` per entry). */
export const ID_INDEX_NAME = 'healthchain/ids'

/** Entry ids an open chain keeps in memory by default, at most: about 0.2 KB each. */
export const DEFAULT_IDS_IN_MEMORY = 4096
/** The least the node's config accepts: one full batch of appends (256 entries). The ledger takes any bound from 1 (tests). */
export const MIN_IDS_IN_MEMORY = 256
export const MAX_IDS_IN_MEMORY = 10_000_000

/** A Bloom filter of entry ids (hex of random bytes: their first 24 hex digits are three independent hashes). */
class IdFilter {
  private readonly bits: Uint32Array
  private readonly size: number

  constructor (size: number) {
    this.size = size
    this.bits = new Uint32Array(Math.ceil(size / 32))
  }

  private positions (idHex: string): number[] {
    return [0, 8, 16].map((at) => (Number.parseInt(idHex.slice(at, at + 8), 16) >>> 0) % this.size)
  }

  add (idHex: string): void {
    for (const p of this.positions(idHex)) this.bits[p >>> 5]! |= 1 << (p & 31)
  }

  mayHave (idHex: string): boolean {
    return this.positions(idHex).every((p) => (this.bits[p >>> 5]! & (1 << (p & 31))) !== 0)
  }
}

export class IndexedIds implements EntryIds {
  private readonly index: BlockIndex
  readonly bound: number
  private readonly filter: IdFilter
  /** A position below the index's mark was folded without its id (an absent block): the filter is not complete. */
  private filterIncomplete = false
  /** Ids of positions at or past the index's mark, folded here: written or being written, not on disk yet. */
  private readonly pending = new Map<string, number>()
  /** Positions read from disk by the last prefetch: at most one batch. */
  private found = new Map<string, number>()

  private constructor (index: BlockIndex, bound: number) {
    this.index = index
    this.bound = bound
    this.filter = new IdFilter(Math.max(1024, bound * 32))
  }

  static async open (core: Hypercore, bound: number): Promise<IndexedIds> {
    return new IndexedIds(await BlockIndex.open(core, ID_INDEX_NAME), bound)
  }

  /** Positions [0, indexed) have their ids on disk. */
  get indexed (): number { return this.index.indexed }

  /** Ids held in memory now. */
  get size (): number { return this.pending.size + this.found.size }

  /** Ids held in memory that are not on disk yet. */
  get unindexed (): number { return this.pending.size }

  positionOf (idHex: string): number | undefined {
    return this.pending.get(idHex) ?? this.found.get(idHex)
  }

  add (idHex: string, seq: number): void {
    this.filter.add(idHex)
    // Below the mark: on disk already (a chain folded again as it opens).
    if (seq < this.index.indexed) return
    idHex.charCodeAt(0)
    this.pending.set(idHex, seq)
  }

  // Left in the filter: a "maybe" only costs a read.
  remove (idHex: string): void { this.pending.delete(idHex) }

  /** Position `seq` was folded without its entry (absent): below the mark, its id is on disk but unknown here. */
  skipped (seq: number): void {
    if (seq < this.index.indexed) this.filterIncomplete = true
  }

  /** Reads the positions of `ids` (bytes) not in memory from the index, for the checks that follow. */
  async prefetch (ids: readonly Uint8Array[]): Promise<void> {
    this.found = new Map()
    if (this.index.indexed === 0) return
    const asked = ids.map((id) => bytesToHex(id)).filter((hex) => !this.pending.has(hex) && this.mayBeIndexed(hex))
    this.found = await this.index.lookup(asked)
  }

  /** Whether the index on disk may hold `idHex` (the filter answers "no" only for an id never folded, when it is complete). */
  private mayBeIndexed (idHex: string): boolean {
    return this.index.indexed > 0 && (this.filterIncomplete || this.filter.mayHave(idHex))
  }

  /**
   * The position of `idHex`, wherever it is (in memory, or read from the
   * index): a lookup of its own, for a caller outside the checks, which
   * leaves the last prefetch's positions as they are.
   */
  async find (idHex: string): Promise<number | undefined> {
    const held = this.positionOf(idHex)
    if (held !== undefined || !this.mayBeIndexed(idHex)) return held
    return (await this.index.lookup([idHex])).get(idHex)
  }

  /** Whether `more` ids would pass the bound: the caller flushes first. */
  full (more: number): boolean { return this.pending.size + more > this.bound }

  /**
   * Writes the ids of positions below `length` (written, and on a replica
   * checked and marked) to the index, with its mark at `length`, and lets
   * them go from memory.
   */
  async flush (length: number): Promise<void> {
    if (length <= this.index.indexed) return
    const entries = [...this.pending].filter(([, seq]) => seq < length)
    await this.index.write(entries, length)
    for (const [hex] of entries) this.pending.delete(hex)
    this.found = new Map()
  }
}
