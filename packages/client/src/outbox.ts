/**
 * The offline outbox: the user's writes that have not reached the custodian
 * yet, kept on the device across app restarts.
 *
 * Stored as a local Hypercore (`local/outbox`) in the device's own
 * Corestore — never replicated (a light peer serves nothing, and no peer is
 * ever given its key). Why a core rather than a file: appends are ordered
 * and as durable as the chain data beside them (one RocksDB, one write-ahead
 * log), there is no file format, partial write or fsync-and-rename to get
 * right, and the store's lock already keeps two app instances off one outbox.
 *
 * Records are canonical CBOR maps, appended only:
 *
 *   { v: 1, kind: 'entry', body }          an UNSIGNED entry (core's body bytes:
 *                                          its id and time are fixed here)
 *   { v: 1, kind: 'sent', at, seq }        the entry record at `at` is in the chain at `seq`
 *   { v: 1, kind: 'failed', at, code }     the custodian refused it for good (its code)
 *   { v: 1, kind: 'dismissed', at }        the user has seen the failure
 *
 * Items are sent in outbox order. An entry is signed only when it is sent
 * (for the position it takes), and its id never changes, so a resend after
 * a crash between the custodian's acknowledgement and the `sent` record is
 * recognised by the custodian as the same entry (`duplicate: true`).
 *
 * When nothing is pending and no failure is left to show, the core is
 * truncated to nothing (`compact`), so it never grows without bound.
 *
 * Erasure: an entry the custodian acknowledged is in the chain, where the
 * user can erase it — so its record here must not outlive it. Once its
 * `sent` record is written, the entry record is cleared (a cleared record is
 * valid only when a `sent` record names it). Clearing or truncating only
 * deletes RocksDB keys, so the bytes stay in the store's files until
 * compacted: every `compact()` scrubs (packages/ledger, scrub.ts) the entry
 * records cleared or truncated since the last one — usually with a flush
 * alone, as records sent soon after they were written never left the
 * memtable (`logMark`). The local user data `healthchain/outbox-scrub-owed`
 * is set before a record is cleared or truncated and removed once it is
 * scrubbed; an open that finds it set (the app stopped in between) scrubs the
 * whole outbox again.
 */
import type Hypercore from 'hypercore'
import {
  ENTRY_VERSION, bytesToHex, decodeCanonical, encodeCanonical, encodeEntryBody, parseUnsignedEntry, type UnsignedEntry
} from '@healthchain/core'
import { logMark, rangesOf, scrubCleared, type ClearedRange, type LocalCoreName, type LocalCoreSource, type LogMark } from '@healthchain/ledger'
import { ClientError } from './errors.js'

export const OUTBOX_CORE = 'local/outbox' satisfies LocalCoreName
/** Set (local user data) while cleared or truncated records may still be in the store's files. */
export const SCRUB_OWED_KEY = 'healthchain/outbox-scrub-owed'

type OutboxRecord =
  | { v: 1, kind: 'entry', body: Uint8Array }
  | { v: 1, kind: 'sent', at: number, seq: number }
  | { v: 1, kind: 'failed', at: number, code: string }
  | { v: 1, kind: 'dismissed', at: number }

export interface OutboxItem {
  /** Position of the item's record in the outbox (changes after compaction). */
  readonly at: number
  /** The entry id in hex. */
  readonly id: string
  readonly entry: UnsignedEntry
}

export interface FailedItem extends OutboxItem {
  /** The custodian's code, e.g. BAD_ERASURE or CONSENT_VIOLATION. */
  readonly code: string
}

function isUint (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function damaged (at: number, cause?: unknown): ClientError {
  return new ClientError('DEVICE_STATE', `outbox record ${at} is damaged`, { cause })
}

function decodeRecord (block: Uint8Array, at: number): OutboxRecord {
  let value: unknown
  try {
    value = decodeCanonical(block)
  } catch (err) {
    throw damaged(at, err)
  }
  const r = value as Partial<Record<string, unknown>> | null
  if (r === null || typeof r !== 'object' || r.v !== 1) throw damaged(at)
  if (r.kind === 'entry' && r.body instanceof Uint8Array) return { v: 1, kind: 'entry', body: r.body }
  if (r.kind === 'sent' && isUint(r.at) && isUint(r.seq)) return { v: 1, kind: 'sent', at: r.at, seq: r.seq }
  if (r.kind === 'failed' && isUint(r.at) && typeof r.code === 'string') return { v: 1, kind: 'failed', at: r.at, code: r.code }
  if (r.kind === 'dismissed' && isUint(r.at)) return { v: 1, kind: 'dismissed', at: r.at }
  throw damaged(at)
}

function entryOf (body: Uint8Array, at: number): UnsignedEntry {
  try {
    const fields = decodeCanonical(body) as Record<string, unknown>
    return parseUnsignedEntry({ ...fields, v: ENTRY_VERSION })
  } catch (err) {
    throw damaged(at, err)
  }
}

export class Outbox {
  private readonly core: Hypercore
  /** Items not yet acknowledged, in order. */
  private readonly queue: OutboxItem[] = []
  private readonly failures = new Map<number, FailedItem>()
  /** Every change runs alone: an append racing a compaction would lose records or misnumber them. */
  private tail: Promise<unknown> = Promise.resolve()
  /** Entry records still stored: their size in bytes, and (if written in this session) a log mark taken before. */
  private readonly stored = new Map<number, { readonly size: number, readonly mark: LogMark | undefined }>()
  /** Entry records cleared or truncated but maybe still in the store's files; scrubbed by the next compact(). */
  private owed: { ranges: ClearedRange[], marks: Array<LogMark | undefined> } | undefined
  /** Whether SCRUB_OWED_KEY is set on disk. */
  private owedOnDisk = false

  private constructor (core: Hypercore) {
    this.core = core
  }

  static async open (cores: LocalCoreSource): Promise<Outbox> {
    const core = await cores.localCore(OUTBOX_CORE)
    const outbox = new Outbox(core)
    const items = new Map<number, OutboxItem>()
    const sent = new Set<number>()
    const cleared: number[] = []
    for (let at = 0; at < core.length; at++) {
      const block = await core.get(at, { wait: false })
      if (block === null) {
        cleared.push(at)
        continue
      }
      const record = decodeRecord(block, at)
      if (record.kind === 'entry') {
        const entry = entryOf(record.body, at)
        items.set(at, { at, id: bytesToHex(entry.id), entry })
        outbox.stored.set(at, { size: block.byteLength, mark: undefined })
      } else if (record.kind === 'sent') {
        items.delete(record.at)
        sent.add(record.at)
      } else if (record.kind === 'failed') {
        const item = items.get(record.at)
        items.delete(record.at)
        if (item !== undefined) outbox.failures.set(record.at, { ...item, code: record.code })
      } else {
        outbox.failures.delete(record.at)
      }
    }
    // Only the entry record of an acknowledged item is ever cleared: any other gap is damage.
    for (const at of cleared) if (!sent.has(at)) throw damaged(at)
    outbox.queue.push(...[...items.values()].sort((a, b) => a.at - b.at))
    if (await core.getUserData(SCRUB_OWED_KEY) !== null) {
      // A scrub the app's stop cut short: which records it was for is not known, so all of them, whatever their size.
      outbox.owedOnDisk = true
      outbox.owe([{ start: 0, end: Infinity, largest: undefined }], [undefined])
    }
    // Acknowledged items whose entry record a stop left uncleared.
    await outbox.clearRecords([...sent].filter((at) => outbox.stored.has(at)))
    await outbox.compact()
    return outbox
  }

  /** Items waiting to be sent, oldest first. */
  pending (): readonly OutboxItem[] { return this.queue }
  get pendingCount (): number { return this.queue.length }
  /** Items the custodian refused for good, until dismissed. */
  failed (): FailedItem[] { return [...this.failures.values()] }

  /** Keeps `entries` for sending, in order, with one append (all or none of them are kept). */
  async enqueue (entries: readonly UnsignedEntry[]): Promise<OutboxItem[]> {
    if (entries.length === 0) return []
    // Encoded (and so validated) before anything is written.
    const records = entries.map((e) => encodeCanonical({ v: 1, kind: 'entry', body: encodeEntryBody(e) } satisfies OutboxRecord))
    return await this.exclusive(async () => {
      // Taken before the append: if the log is still this one when the records are cleared, they never left the memtable.
      const mark = await logMark(this.core)
      const { length } = await this.core.append(records)
      const items = entries.map((entry, i) => ({ at: length - entries.length + i, id: bytesToHex(entry.id), entry }))
      items.forEach((item, i) => this.stored.set(item.at, { size: records[i]!.byteLength, mark }))
      this.queue.push(...items)
      return items
    })
  }

  /** The custodian acknowledged `item` at position `seq`: its entry record is cleared (the chain has the entry now). */
  async markSent (item: OutboxItem, seq: number): Promise<void> {
    await this.exclusive(async () => {
      await this.core.append(encodeCanonical({ v: 1, kind: 'sent', at: item.at, seq } satisfies OutboxRecord))
      this.remove(item)
      await this.clearRecords([item.at])
    })
  }

  /** The custodian refused `item` for good: it leaves the queue and is kept as a failure to show. */
  async markFailed (item: OutboxItem, code: string): Promise<FailedItem> {
    return await this.exclusive(async () => {
      await this.core.append(encodeCanonical({ v: 1, kind: 'failed', at: item.at, code } satisfies OutboxRecord))
      this.remove(item)
      const failed = { ...item, code }
      this.failures.set(item.at, failed)
      return failed
    })
  }

  /** Forgets the failures shown to the user. */
  async dismissFailed (): Promise<void> {
    await this.exclusive(async () => {
      const ats = [...this.failures.keys()]
      if (ats.length === 0) return
      await this.core.append(ats.map((at) => encodeCanonical({ v: 1, kind: 'dismissed', at } satisfies OutboxRecord)))
      this.failures.clear()
    })
    await this.compact()
  }

  /**
   * Empties the core when it holds nothing that is still needed, then takes
   * the entry records cleared or truncated so far off the store's files.
   */
  async compact (): Promise<void> {
    await this.exclusive(async () => {
      if (this.queue.length === 0 && this.failures.size === 0 && this.core.length > 0) {
        const ats = [...this.stored.keys()]
        if (ats.length > 0) await this.markOwed()
        await this.core.truncate(0)
        this.forget(ats)
      }
      await this.scrubOwed()
    })
  }

  /** Clears entry records (their items are in the chain now); compact() scrubs them. */
  private async clearRecords (ats: readonly number[]): Promise<void> {
    if (ats.length === 0) return
    await this.markOwed()
    for (const at of ats) await this.core.clear(at)
    this.forget(ats)
  }

  /** Entry records just cleared or truncated: owed a scrub. */
  private forget (ats: readonly number[]): void {
    const present = ats.filter((at) => this.stored.has(at))
    this.owe(rangesOf(present, (at) => this.stored.get(at)?.size), present.map((at) => this.stored.get(at)?.mark))
    for (const at of ats) this.stored.delete(at)
  }

  private owe (ranges: readonly ClearedRange[], marks: ReadonlyArray<LogMark | undefined>): void {
    if (ranges.length === 0) return
    this.owed ??= { ranges: [], marks: [] }
    this.owed.ranges.push(...ranges)
    this.owed.marks.push(...marks)
  }

  private async markOwed (): Promise<void> {
    if (this.owedOnDisk) return
    await this.core.setUserData(SCRUB_OWED_KEY, new Uint8Array([1]))
    this.owedOnDisk = true
  }

  private async scrubOwed (): Promise<void> {
    const owed = this.owed
    if (owed !== undefined) {
      // A flush is enough only if no record owed was written before the log last changed: the oldest mark must still hold.
      const marks = owed.marks
      const writtenAfter = marks.includes(undefined) ? undefined : Math.min(...(marks as number[])) as LogMark
      await scrubCleared(this.core, owed.ranges, { writtenAfter })
      this.owed = undefined
    }
    if (this.owedOnDisk) {
      await this.core.setUserData(SCRUB_OWED_KEY, null)
      this.owedOnDisk = false
    }
  }

  private async exclusive<T> (work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work)
    this.tail = run.catch(() => {})
    return await run
  }

  private remove (item: OutboxItem): void {
    const i = this.queue.findIndex((q) => q.at === item.at)
    if (i >= 0) this.queue.splice(i, 1)
  }

  async close (): Promise<void> {
    await this.tail
    // What compact() has not scrubbed yet; if this fails, the flag on disk has the next open do it.
    await this.exclusive(async () => { await this.scrubOwed() }).catch(() => {})
    await this.core.close()
  }
}
