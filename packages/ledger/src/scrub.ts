/**
 * Cleared blocks off the disk.
 *
 * DEV DOCS
 *
 * Hypercore's `clear()` (and `truncate()`) deletes a block's key in the
 * store's RocksDB (hypercore-storage: one RocksDB per Corestore, one column
 * family for every core, a core's blocks under the keys
 * `TL_DATA ‖ dataPointer ‖ DATA_BLOCK ‖ index`). A delete writes a
 * tombstone; until a compaction meets the tombstone and the value, the value
 * stays where RocksDB put it, and reads simply skip it:
 *
 *   - the memtable and the write-ahead log (`*.log`) — recent writes;
 *   - table files (`*.sst`) — once the memtable was flushed (at the latest
 *     when the store is next opened, which replays the log);
 *   - blob files (`*.blob`) — values of `minBlobSize` (4 KiB) or more,
 *     written at a flush, one blob file holding the large values of every
 *     core flushed together.
 *
 * `startScrub(core, ranges)` takes them away, in order:
 *
 *   1. flush the memtable: a value still in it meets its tombstone and is
 *      dropped (never reaching a table or blob file), and RocksDB deletes
 *      the log file that held it. If the store's log is still the one in
 *      use before the blocks were written (`writtenAfter`, a `logMark`),
 *      the memtable was never switched since: the blocks were nowhere else,
 *      and this is all it takes ('flush');
 *   2. compact the key range of the cleared blocks: the table files that
 *      hold them are rewritten without them (all levels, the bottommost
 *      too, so a tombstone that reached the last level meets its value)
 *      ('range'). This rewrites the table files that overlap the range —
 *      up to RocksDB's target file size each (64 MiB), whatever the store's
 *      size;
 *   3. when a cleared block may have been a blob (its size is at least the
 *      column family's `minBlobSize`, or unknown): compact the whole column
 *      family with blob garbage collection forced ('sweep'). A blob file
 *      goes only when none of its blobs is referenced any more, and its
 *      other blobs belong to whatever cores were flushed with it, so every
 *      live blob is moved to new files and the old files deleted. This
 *      rewrites the store, so `startScrub` returns once step 2 is done (the
 *      log and table files hold nothing of the blocks: a blob's key in a
 *      table file holds only where the blob is) and hands the sweep back as
 *      a promise; requests that arrive while one runs share the next run
 *      (`Sweeps`). `scrubCleared` waits for it.
 *
 * What this cannot reach: bytes of files RocksDB deleted (or of the parts
 * of a file it rewrote) stay in the filesystem's free blocks until reused,
 * outside the directory; RocksDB's block cache and the process memory hold
 * read blocks until evicted. A RocksDB snapshot taken before the clear would
 * keep the value alive through compactions: the ledger takes none (Hypercore
 * does only for `snapshot()` sessions, which it does not use).
 *
 * This file reaches into hypercore 11.37.1 / hypercore-storage 3.3.1 /
 * rocksdb-native 3.18 internals (pinned): a session's storage
 * (`core.state.storage`: `db`, `core.dataPointer`, `core.dependencies`),
 * hypercore-storage's key layout (`lib/keys.js`, loaded from the copy
 * hypercore itself uses), and the column family's options. The on-disk
 * erasure tests fail first if an upgrade moves them.
 */
import { createRequire } from 'node:module'
import type Hypercore from 'hypercore'
import { LedgerError } from './errors.js'

/** A run of cleared (or truncated) blocks of one core: positions [start, end). */
export interface ClearedRange {
  readonly start: number
  /** Exclusive; Infinity for "every block from start". */
  readonly end: number
  /** The largest block in the range, in bytes; undefined when not known (then it may have been a blob). */
  readonly largest: number | undefined
}

/** How a scrub reached the blocks (see the file comment). */
export type ScrubMode = 'flush' | 'range' | 'sweep'

/** The write-ahead log in use at some moment (`logMark`): a memtable switch starts a new one. */
export type LogMark = number & { readonly __brand: 'LogMark' }

export interface ScrubOptions {
  /** A `logMark` taken before every cleared block was written; undefined when not known. */
  readonly writtenAfter?: LogMark
}

export interface StartedScrub {
  readonly mode: ScrubMode
  /** For 'sweep': resolves once the whole-store compaction that covers the blocks is done; undefined otherwise (done already). */
  readonly sweep: Promise<void> | undefined
}

/** rocksdb-native's manual compaction options (lib/constants.js). */
const GC_FORCE = 1
const BOTTOMMOST_FORCE = 2

interface CompactOptions {
  blobGarbageCollectionPolicy?: number
  blobGarbageCollectionAgeCutoff?: number
  bottommostLevelCompaction?: number
}

/** A rocksdb-native session on the store's column family. */
interface InternalDb {
  flush (): Promise<void>
  currentWalFile (): Promise<{ readonly number: number }>
  compactRange (start: Uint8Array | null, end: Uint8Array | null, opts: CompactOptions): Promise<void>
  readonly _columnFamily?: { readonly _options?: { readonly enableBlobFiles?: unknown, readonly minBlobSize?: unknown } }
}

interface InternalStorage {
  readonly db: InternalDb
  /** The store (one per Corestore), whose session on the column family lives as long as it: sweeps run there, one at a time. */
  readonly store: { readonly db: InternalDb }
  readonly core: { readonly dataPointer: number, readonly dependencies: ReadonlyArray<{ readonly dataPointer: number }> }
}

interface StorageKeys {
  core: { block (dataPointer: number, index: number): Uint8Array }
}

// hypercore-storage's key layout, from the copy hypercore loads (not a second one).
const requireFromHypercore = createRequire(createRequire(import.meta.url).resolve('hypercore'))
const keys = requireFromHypercore('hypercore-storage/lib/keys.js') as StorageKeys

function storageOf (core: Hypercore): InternalStorage {
  const storage = (core as unknown as { state?: { storage?: Partial<InternalStorage> } }).state?.storage
  if (storage?.db === undefined || storage.core === undefined || storage.store?.db === undefined ||
    typeof storage.db.flush !== 'function' || typeof storage.db.compactRange !== 'function' || typeof storage.db.currentWalFile !== 'function') {
    throw new LedgerError('SCRUB_FAILED', 'the core\'s storage does not expose its RocksDB (an unsupported hypercore-storage)')
  }
  return storage as InternalStorage
}

/** The smallest value RocksDB keeps in a blob file, as the store's column family says; 0 when unknown (every value may be). */
function minBlobSize (db: InternalDb): number {
  const options = db._columnFamily?._options
  if (options?.enableBlobFiles === false) return Infinity
  return typeof options?.minBlobSize === 'number' ? options.minBlobSize : 0
}

/** A copy: hypercore-storage encodes keys into a shared slab that its next key overwrites. */
function blockKey (dataPointer: number, index: number): Uint8Array {
  return new Uint8Array(keys.core.block(dataPointer, index))
}

/**
 * One whole-store compaction at a time per store; whoever asks while one
 * runs waits for the next, which starts after it and serves them all (a run
 * that started before their clear may have passed their blob already).
 */
class Sweeps {
  private running: Promise<void> | undefined
  private queued: Promise<void> | undefined

  constructor (private readonly db: InternalDb) {}

  request (): Promise<void> {
    if (this.queued !== undefined) return this.queued
    if (this.running === undefined) return this.start()
    const queued = this.running.catch(() => {}).then(async () => {
      this.queued = undefined
      await this.start()
    })
    this.queued = queued
    return queued
  }

  private start (): Promise<void> {
    const running = (async () => {
      await this.db.flush()
      await this.db.compactRange(null, null, {
        blobGarbageCollectionPolicy: GC_FORCE, blobGarbageCollectionAgeCutoff: 1, bottommostLevelCompaction: BOTTOMMOST_FORCE
      })
    })().finally(() => { if (this.running === running) this.running = undefined })
    this.running = running
    return running
  }
}

const sweeps = new WeakMap<object, Sweeps>()

function sweepsOf (storage: InternalStorage): Sweeps {
  let s = sweeps.get(storage.store)
  // Not the core's own session on the column family: it closes with the core, and a sweep may outlive it.
  if (s === undefined) sweeps.set(storage.store, s = new Sweeps(storage.store.db))
  return s
}

/** The store's write-ahead log now: take it before writing blocks that may be cleared soon (see `ScrubOptions`). */
export async function logMark (core: Hypercore): Promise<LogMark> {
  try {
    return (await storageOf(core).db.currentWalFile()).number as LogMark
  } catch (cause) {
    throw asScrubError(cause)
  }
}

/**
 * Takes the bytes of blocks already cleared (or truncated) from `core` off
 * the store's files; see the file comment for how. Resolves once they are
 * gone from every file in the store's directory, but for blob-sized blocks:
 * then it resolves once they are out of the log and table files, with the
 * whole-store sweep (blob files) under way in `sweep`. SCRUB_FAILED if
 * RocksDB refuses (the blocks stay cleared, only their bytes may remain).
 */
export async function startScrub (core: Hypercore, ranges: readonly ClearedRange[], opts: ScrubOptions = {}): Promise<StartedScrub> {
  const live = ranges.filter((r) => r.end > r.start)
  if (live.length === 0) return { mode: 'flush', sweep: undefined }
  const storage = storageOf(core)
  const { db } = storage
  try {
    const unmoved = opts.writtenAfter !== undefined && (await db.currentWalFile()).number === opts.writtenAfter
    await db.flush()
    if (unmoved) return { mode: 'flush', sweep: undefined }
    const start = Math.min(...live.map((r) => r.start))
    const end = Math.max(...live.map((r) => r.end))
    // A session's blocks below a dependency's length live under that dependency's data pointer.
    const pointers = [storage.core.dataPointer, ...storage.core.dependencies.map((d) => d.dataPointer)]
    for (const pointer of new Set(pointers)) {
      await db.compactRange(blockKey(pointer, start), blockKey(pointer, end), { bottommostLevelCompaction: BOTTOMMOST_FORCE })
    }
    // Done with the table files (a blob's key there holds only where the blob is); blob files need the sweep.
    const threshold = minBlobSize(db)
    if (!live.some((r) => r.largest === undefined || r.largest >= threshold)) return { mode: 'range', sweep: undefined }
    const sweep = sweepsOf(storage).request().catch((cause: unknown) => { throw asScrubError(cause) })
    return { mode: 'sweep', sweep }
  } catch (cause) {
    throw asScrubError(cause)
  }
}

/** `startScrub`, waiting for the sweep too: resolves once the blocks' bytes are in no file of the store. */
export async function scrubCleared (core: Hypercore, ranges: readonly ClearedRange[], opts: ScrubOptions = {}): Promise<ScrubMode> {
  const started = await startScrub(core, ranges, opts)
  await started.sweep
  return started.mode
}

function asScrubError (cause: unknown): LedgerError {
  if (cause instanceof LedgerError) return cause
  return new LedgerError('SCRUB_FAILED', 'cleared blocks could not be compacted out of the store\'s files', { cause })
}

/** The runs of consecutive positions in `positions`, each with the largest size `sizeOf` knows for it. */
export function rangesOf (positions: readonly number[], sizeOf: (seq: number) => number | undefined): ClearedRange[] {
  const sorted = [...new Set(positions)].sort((a, b) => a - b)
  const ranges: ClearedRange[] = []
  for (const seq of sorted) {
    const size = sizeOf(seq)
    const last = ranges.at(-1)
    if (last !== undefined && last.end === seq) {
      const largest = last.largest === undefined || size === undefined ? undefined : Math.max(last.largest, size)
      ranges[ranges.length - 1] = { start: last.start, end: seq + 1, largest }
    } else {
      ranges.push({ start: seq, end: seq + 1, largest: size })
    }
  }
  return ranges
}
