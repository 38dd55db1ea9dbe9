/**
 * Leaf nodes of erased blocks, kept by this node — and how many of those
 * blocks are off the disk.
 *
 * Hypercore's clear() deletes a block's data and also the tree nodes it no
 * longer needs — including the cleared leaf and parents its neighbours would
 * need to be re-proven against the signed head. So before clearing, the
 * ledger records each leaf (position, size, hash: a hash of the block, no
 * data) here; verification rebuilds the tree with these and every block that
 * remains is still checked against the custodian's signature.
 *
 * A local Hypercore (never replicated) of canonical CBOR records
 * `{ v: 1, chain: key, seq, size, hash }`.
 *
 * The record is written before the clear, so it also says what must be
 * scrubbed (scrub.ts): a cleared block's bytes stay in the store's files
 * until a compaction. Records below the **scrubbed mark** — in the core's
 * local user data, `healthchain/scrubbed` = u8 version 1 ‖ u64 BE record
 * count — are known to be off the disk; those at or past it may not be (the
 * process stopped between the clear and the end of the scrub), and the
 * ledger scrubs them again when it opens. The mark only moves past a record
 * once that record's blocks are scrubbed, so it is a lower bound: a crash
 * costs a second scrub, never a skipped one. A mark that is missing,
 * malformed or of another version counts as 0.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, decodeCanonical, encodeCanonical } from '@healthchain/core'
import type { LocalCoreSource } from './local-cores.js'
import type { MerkleNode } from './merkle.js'

export const SCRUBBED_MARK_KEY = 'healthchain/scrubbed'
const MARK_VERSION = 1
const MARK_SIZE = 9

interface Record { v: 1, chain: Uint8Array, seq: number, size: number, hash: Uint8Array }

/** An erased block whose bytes may still be in the store's files. */
export interface UnscrubbedBlock {
  readonly chain: Uint8Array
  readonly seq: number
  /** The block's size in bytes. */
  readonly size: number
}

export function encodeScrubbedMark (count: number): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`expected a non-negative safe integer count, got ${count}`)
  const out = new Uint8Array(MARK_SIZE)
  const view = new DataView(out.buffer)
  view.setUint8(0, MARK_VERSION)
  view.setBigUint64(1, BigInt(count))
  return out
}

/** The record count in a version-1 mark; 0 for anything else. */
export function decodeScrubbedMark (bytes: Uint8Array | null | undefined): number {
  if (bytes === null || bytes === undefined || bytes.byteLength !== MARK_SIZE) return 0
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== MARK_VERSION) return 0
  const count = view.getBigUint64(1)
  return count > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(count)
}

function blockId (chain: Uint8Array | string, seq: number): string {
  return `${typeof chain === 'string' ? chain : bytesToHex(chain)}:${seq}`
}

export class ErasedLeaves {
  private readonly core: Hypercore
  private readonly byChain = new Map<string, Map<number, MerkleNode>>()
  /** Records at or past the mark whose blocks are not known to be scrubbed, by record index. */
  private readonly unscrubbedAt = new Map<number, UnscrubbedBlock>()
  /** The record index of each such block. */
  private readonly indexOf = new Map<string, number>()
  /** The core's length when each append under way began: its records are at or past it, and not in `unscrubbedAt` yet. */
  private readonly appendingFrom: number[] = []
  /** The mark on disk, and the write of the next one (one at a time, so it never moves back). */
  private mark = 0
  private marking: Promise<void> = Promise.resolve()
  /** Scrubs still running in the background (whole-store sweeps): close() waits for them. */
  private readonly running = new Set<Promise<void>>()

  private constructor (core: Hypercore) {
    this.core = core
  }

  static async open (cores: LocalCoreSource): Promise<ErasedLeaves> {
    const core = await cores.localCore('local/erased-leaves')
    const log = new ErasedLeaves(core)
    log.mark = Math.min(decodeScrubbedMark(await core.getUserData(SCRUBBED_MARK_KEY)), core.length)
    for (let i = 0; i < core.length; i++) {
      const block = await core.get(i, { wait: false })
      if (block === null) continue
      const r = decodeCanonical(block) as Record
      log.remember(r)
      if (i >= log.mark) log.pending(i, r)
    }
    return log
  }

  private pending (index: number, r: Record): void {
    this.unscrubbedAt.set(index, { chain: r.chain, seq: r.seq, size: r.size })
    this.indexOf.set(blockId(r.chain, r.seq), index)
  }

  private remember (r: Record): void {
    const key = bytesToHex(r.chain)
    let leaves = this.byChain.get(key)
    if (leaves === undefined) this.byChain.set(key, leaves = new Map())
    leaves.set(r.seq, { index: 2 * r.seq, size: r.size, hash: r.hash })
  }

  /** Records leaves before their blocks are cleared. */
  async record (chain: Uint8Array, leaves: readonly MerkleNode[]): Promise<void> {
    const fresh = leaves.filter((l) => !this.of(chain).has(l.index / 2))
    if (fresh.length === 0) return
    const records: Record[] = fresh.map((l) => ({ v: 1, chain, seq: l.index / 2, size: l.size, hash: l.hash }))
    const from = this.core.length
    this.appendingFrom.push(from)
    try {
      const { length } = await this.core.append(records.map((r) => encodeCanonical(r)))
      records.forEach((r, i) => {
        this.remember(r)
        this.pending(length - records.length + i, r)
      })
    } finally {
      this.appendingFrom.splice(this.appendingFrom.indexOf(from), 1)
    }
  }

  /** Erased blocks whose bytes may still be in the store's files (a scrub was cut short): the ledger scrubs them when it opens. */
  unscrubbed (): UnscrubbedBlock[] {
    return [...this.unscrubbedAt.values()]
  }

  /** Records that the blocks `seqs` of `chain` are off the disk; moves the mark past every record so known. */
  async scrubbed (chain: Uint8Array, seqs: readonly number[]): Promise<void> {
    const hex = bytesToHex(chain)
    for (const seq of seqs) {
      const index = this.indexOf.get(blockId(hex, seq))
      if (index === undefined) continue
      this.indexOf.delete(blockId(hex, seq))
      this.unscrubbedAt.delete(index)
    }
    const next = Math.min(this.core.length, ...this.appendingFrom, ...this.unscrubbedAt.keys())
    const write = this.marking.then(async () => {
      if (next <= this.mark) return
      await this.core.setUserData(SCRUBBED_MARK_KEY, encodeScrubbedMark(next))
      this.mark = next
    })
    this.marking = write.catch(() => {})
    await write
  }

  /**
   * Records the blocks as scrubbed once `done` resolves (a sweep under way);
   * if it fails they stay owed, for the next open. close() waits for it.
   */
  scrubbedWhen (chain: Uint8Array, seqs: readonly number[], done: Promise<unknown>): void {
    const task = done.then(async () => { await this.scrubbed(chain, seqs) }).catch(() => {
      // Owed still: the mark stays before these records, so the ledger's next open scrubs them again.
    })
    this.running.add(task)
    void task.finally(() => this.running.delete(task))
  }

  /** Recorded leaves of a chain, by position. */
  of (chain: Uint8Array): ReadonlyMap<number, MerkleNode> {
    return this.byChain.get(bytesToHex(chain)) ?? new Map()
  }

  /** Resolves once no scrub runs in the background (each one's blocks are then recorded as scrubbed, or still owed if it failed). */
  async settled (): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
    await this.marking
  }

  /** Waits for background scrubs and the mark, then closes the log. */
  async close (): Promise<void> {
    await this.settled()
    await this.core.close()
  }
}
