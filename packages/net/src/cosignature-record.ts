/**
 * What a witness cosigned, for its promise: the local core
 * `local/cosignatures` (one encoded Cosignature per block, appended before
 * the cosignature leaves the node), an index of it on disk by (chain,
 * length) (the ledger's BlockIndex, in the core's user data), and in memory
 * only the most recently used cosignatures, at most `bound` of them.
 *
 * So `at(chain, length)` answers from memory or from disk, for every head
 * ever cosigned here, however many: the check that a (chain, length) is
 * never cosigned with another root holds past the bound and after a
 * restart. A crash between the append and the index write leaves blocks past
 * the index's mark: `open` indexes them (and, on a store from before the
 * index, every block once).
 *
 * Index keys: `<chain key hex>/<length as 16 hex digits>`, one length for
 * all, so the index's order is (chain, length) and a chain's newest
 * cosignatures are read newest first without reading the others.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, equal, type CryptoProvider } from '@healthchain/core'
import { BlockIndex } from '@healthchain/ledger'
import { decodeCosignature, encodeCosignature, type Cosignature } from './wire/cosignature.js'
import { verifyHead } from './wire/head.js'

/** The user data name of the index of `local/cosignatures`. */
export const COSIGNATURE_INDEX_NAME = 'healthchain/cosigned'

/** Cosignatures a witness keeps in memory by default, at most: about 0.5 KB each. */
export const DEFAULT_COSIGNATURES_IN_MEMORY = 10_000
export const MIN_COSIGNATURES_IN_MEMORY = 16
export const MAX_COSIGNATURES_IN_MEMORY = 10_000_000

/** Blocks indexed per storage batch when `open` catches up. */
const INDEX_CHUNK = 1024

function keyOf (chainKey: Uint8Array, length: number): string {
  return `${bytesToHex(chainKey)}/${length.toString(16).padStart(16, '0')}`
}

/** Whether two cosignatures are of the same head (chain, length, root, fork). */
export function sameHead (a: Cosignature, b: Cosignature): boolean {
  return equal(a.head.key, b.head.key) && a.head.length === b.head.length && equal(a.head.root, b.head.root) && a.head.fork === b.head.fork
}

export class CosignatureRecord {
  private readonly core: Hypercore
  private readonly index: BlockIndex
  private readonly crypto: CryptoProvider
  readonly bound: number
  /** Most recently used last: (chain, length) key → the cosignature this witness answers with there. */
  private readonly recent = new Map<string, Cosignature>()

  private constructor (core: Hypercore, index: BlockIndex, crypto: CryptoProvider, bound: number) {
    this.core = core
    this.index = index
    this.crypto = crypto
    this.bound = bound
  }

  /** The record in `core` (`local/cosignatures`, ready), its index caught up with the core. */
  static async open (core: Hypercore, crypto: CryptoProvider, bound: number = DEFAULT_COSIGNATURES_IN_MEMORY): Promise<CosignatureRecord> {
    const record = new CosignatureRecord(core, await BlockIndex.open(core, COSIGNATURE_INDEX_NAME), crypto, bound)
    await record.catchUp()
    return record
  }

  /** Cosignatures held in memory now. */
  get size (): number { return this.recent.size }

  /**
   * The cosignature this witness answers with at (chain, length), if it
   * cosigned one there: the first root it cosigned, under the newest key it
   * cosigned that same head with.
   */
  async at (chainKey: Uint8Array, length: number): Promise<Cosignature | undefined> {
    const key = keyOf(chainKey, length)
    const held = this.recent.get(key)
    if (held !== undefined) {
      this.keep(key, held)
      return held
    }
    const seq = (await this.index.lookup([key])).get(key)
    const stored = seq === undefined ? undefined : await this.read(seq)
    if (stored !== undefined) this.keep(key, stored)
    return stored
  }

  /**
   * Records a cosignature of a head not cosigned here before, or of the same
   * head again (under a rotated key): on disk first (the block, then its
   * index key), then in memory.
   */
  async add (c: Cosignature): Promise<void> {
    const { length } = await this.core.append(encodeCosignature(c))
    const key = keyOf(c.head.key, c.head.length)
    this.keep(key, c)
    await this.index.write([[key, length - 1]], length)
  }

  /** This witness's cosignatures of a chain at `minLength` or more, newest first, at most `max`. */
  async of (chainKey: Uint8Array, minLength: number, max: number): Promise<Cosignature[]> {
    const hex = bytesToHex(chainKey)
    // 'g' sorts after every hex digit: the end of the chain's keys.
    const found = await this.index.range(keyOf(chainKey, minLength), `${hex}/${'g'.repeat(16)}`, { reverse: true, limit: max })
    const out: Cosignature[] = []
    for (const { key, seq } of found) {
      const c = this.recent.get(key) ?? await this.read(seq)
      if (c !== undefined) out.push(c)
    }
    return out
  }

  /** Keeps `c` in memory as the most recently used, letting the least recently used go past the bound. */
  private keep (key: string, c: Cosignature): void {
    this.recent.delete(key)
    this.recent.set(key, c)
    if (this.recent.size > this.bound) this.recent.delete(this.recent.keys().next().value!)
  }

  /** The cosignature in block `seq`, if the block is here, decodes and its head verifies (a damaged block promises nothing). */
  private async read (seq: number): Promise<Cosignature | undefined> {
    const block = await this.core.get(seq, { wait: false })
    if (block === null) return undefined
    try {
      const c = decodeCosignature(new Uint8Array(block))
      return verifyHead(c.head, this.crypto) ? c : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Indexes the blocks past the index's mark: a later block of the same head
   * takes over (a cosignature made again under a rotated key), one of another
   * root never does (the first promise stands; such a block is not written
   * by this code, only by a damaged or tampered store).
   */
  private async catchUp (): Promise<void> {
    for (let start = this.index.indexed; start < this.core.length; start += INDEX_CHUNK) {
      const end = Math.min(this.core.length, start + INDEX_CHUNK)
      const chunk = new Map<string, { seq: number, c: Cosignature }>()
      for (let seq = start; seq < end; seq++) {
        const c = await this.read(seq)
        if (c === undefined) continue
        const key = keyOf(c.head.key, c.head.length)
        const before = chunk.get(key)?.c ?? await this.atIndexed(key)
        if (before === undefined || sameHead(before, c)) chunk.set(key, { seq, c })
      }
      await this.index.write([...chunk].map(([key, { seq }]) => [key, seq] as const), end)
    }
  }

  private async atIndexed (key: string): Promise<Cosignature | undefined> {
    const seq = (await this.index.lookup([key])).get(key)
    return seq === undefined ? undefined : await this.read(seq)
  }
}
