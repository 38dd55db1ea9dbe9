/**
 * The node's derived query index: an embedded SQLite database in
 * `<dataDir>/index/index.sqlite`, fed from verified chain entries and never a
 * source of truth.
 *
 * Flow:
 *   indexChain(chain) ─► cursor (chains.indexed_length)
 *                    ─► read [cursor, verified end) in batches of 1,000
 *                       (chain.readBlocks: stored blocks, erased ones left out)
 *                    ─► decoded (decodeBlock) into the batch's rows (rows.ts),
 *                       then IndexWriter.applyRows: rows + erasures + new
 *                       cursor, one transaction per batch
 *   rebuild(ledger)  ─► a writing thread started (index-write-thread.ts),
 *                       every table emptied (marked: a rebuild under way),
 *                       indexChain for every chain without the indexes
 *                       across users, then those from the rows (one sort
 *                       each); every write of the rebuild, and any
 *                       indexChain meanwhile, committed by that thread
 *   series / exerciseSummary / trace / statistics ─► read-only SQL
 *
 * Only entries a node may serve as valid are indexed: up to
 * `chain.verifiedLength` on a replica (and never past `chain.length`, which
 * the custodian's verified length can run ahead of while a write is under
 * way).
 *
 * Role safety is by construction: only plain segments are ever written
 * (rows.ts), so no query can return anything sealed, whoever asks. Which
 * user a caller may ask about (a user: only themself) and the audit line of
 * every query are the HTTP layer's.
 */
import { rm } from 'node:fs/promises'
import type { UserId } from '@healthchain/core'
import type { Ledger, PositionedBlock, UserChain } from '@healthchain/ledger'
import { NodeError } from '../errors.js'
import { ExerciseSummaryQuery, type ExercisePeriodSummary, type ExerciseSummaryOptions, type SummaryPeriod } from './exercise-summary.js'
import { IndexWriter, rowsOfBlocks, type BatchHook, type BatchResult, type ChainCursor } from './index-writer.js'
import { IndexWriteThread } from './index-write-thread.js'
import { finishRebuild, openDatabase, resetSchema, type Db } from './schema.js'
import { SeriesQuery, type Series, type SeriesOptions } from './series.js'
import { StatisticsQuery, type Statistics, type StatisticsOptions } from './statistics.js'
import { TraceQuery, type TraceContact, type TraceOptions } from './trace.js'
import { IndexFollower, type IndexFollowerInit } from './follower.js'
import { indexEveryChain } from './rebuild-loop.js'

/** The index file inside the data directory's `index/` (DataDirLayout.index). */
export const INDEX_FILE_NAME = 'index.sqlite'

export interface QueryIndexInit {
  /** Entries read and written per transaction (default 1,000). */
  readonly batchSize?: number
  /**
   * SQLite: bytes of stored blocks one batch holds at most (default 8 MiB),
   * so that what a rebuild holds (four chains, a batch read ahead for each)
   * stays bounded whatever the entries' sizes.
   */
  readonly batchBytes?: number
  /** Fault-injection seam for tests (see BatchHook). */
  readonly onBatch?: BatchHook
}

export interface IndexResult {
  readonly user: UserId
  /** The cursor before and after. */
  readonly from: number
  readonly to: number
  /** Entries read (erased ones are not). */
  readonly entries: number
  readonly observations: number
  readonly locations: number
  /** Rows removed by erasure entries. */
  readonly erased: number
}

export interface RebuildProgress {
  readonly chainsDone: number
  readonly chainsTotal: number
  /** Entries read so far. */
  readonly entriesDone: number
  /** Rows written so far. */
  readonly rows: number
}

export interface RebuildResult extends RebuildProgress {
  readonly ms: number
  /** Chains that could not be indexed (they stay at their cursor), by user. */
  readonly failed: ReadonlyArray<{ user: UserId, error: unknown }>
}

/** Where a batch's writes go: this thread's IndexWriter, or a rebuild's writing thread. */
interface IndexWrites {
  cursorFor: (user: UserId, chainKey: Uint8Array) => ChainCursor | Promise<ChainCursor>
  restart: (cursor: ChainCursor) => ChainCursor | Promise<ChainCursor>
  applyBlocks: (user: UserId, cursor: ChainCursor, to: number, blocks: readonly PositionedBlock[]) => BatchResult | Promise<BatchResult>
}

interface ReadBatch {
  /** The batch's end (exclusive). */
  readonly to: number
  /**
   * Its blocks as stored (UserChain.readBlocks), decoded by whichever
   * thread writes them; those an erasure named when they were read are
   * left out (indexNow leaves out those named since, before writing).
   */
  readonly blocks: readonly PositionedBlock[]
}

/** The blocks at [start, end), or fewer when they reach `maxBytes` first: the batch then ends after the last one. */
async function readBatch (chain: UserChain, start: number, end: number, maxBytes: number): Promise<ReadBatch> {
  const blocks = await chain.readBlocks(start, end, { maxBytes })
  const bytes = blocks.reduce((sum, b) => sum + b.block.byteLength, 0)
  return { to: bytes >= maxBytes ? blocks[blocks.length - 1]!.seq + 1 : end, blocks }
}

export class QueryIndex {
  readonly path: string
  private readonly db: Db
  private readonly batchSize: number
  private readonly batchBytes: number
  private readonly onBatch: BatchHook | undefined
  private writer: IndexWriter
  private queries: { series: SeriesQuery, exercise: ExerciseSummaryQuery, trace: TraceQuery, statistics: StatisticsQuery }
  private readonly uidOf
  /** One indexChain per user at a time: two would read the same batch and the second would find the cursor moved. */
  private readonly running = new Map<UserId, Promise<unknown>>()
  /** Where indexChain writes: inline, or the writing thread while a rebuild runs. */
  private writes: IndexWrites
  private readonly inlineWrites: IndexWrites
  /** Held while a rebuild switches where writes go: indexChain calls made meanwhile wait for it. */
  private gate: Promise<void> | undefined
  /** The rebuild under way, if any (settles, never rejects): a second waits for it, and close() for it. */
  private rebuilding: Promise<void> | undefined
  /** close() was called: no new indexChain or rebuild, and a rebuild stops at its next chain. */
  private closing = false
  private closed = false

  private constructor (path: string, db: Db, init: QueryIndexInit) {
    this.path = path
    this.db = db
    this.batchSize = init.batchSize ?? 1000
    this.batchBytes = init.batchBytes ?? 8 * 2 ** 20
    this.onBatch = init.onBatch
    this.writer = new IndexWriter(db)
    this.inlineWrites = this.inline()
    this.writes = this.inlineWrites
    this.queries = QueryIndex.prepareQueries(db)
    this.uidOf = db.prepare('SELECT uid FROM chains WHERE user_id = ?').pluck()
  }

  /** Writes on this thread, through the current IndexWriter, with the batch hook. */
  private inline (): IndexWrites {
    return {
      cursorFor: (user, chainKey) => this.writer.cursorFor(user, chainKey),
      restart: (cursor) => this.writer.restart(cursor),
      applyBlocks: (user, cursor, to, blocks) => this.writer.applyRows(user, cursor, to, rowsOfBlocks(blocks), this.onBatch)
    }
  }

  private static prepareQueries (db: Db): QueryIndex['queries'] {
    return { series: new SeriesQuery(db), exercise: new ExerciseSummaryQuery(db), trace: new TraceQuery(db), statistics: new StatisticsQuery(db) }
  }

  /** Opens (or creates) the index at `path`; a file of another schema version starts over empty. */
  static open (path: string, init: QueryIndexInit = {}): QueryIndex {
    if (init.batchSize !== undefined && (!Number.isInteger(init.batchSize) || init.batchSize < 1)) {
      throw new NodeError('BAD_REQUEST', 'batchSize: expected a positive integer', { field: 'batchSize' })
    }
    if (init.batchBytes !== undefined && (!Number.isInteger(init.batchBytes) || init.batchBytes < 1)) {
      throw new NodeError('BAD_REQUEST', 'batchBytes: expected a positive integer', { field: 'batchBytes' })
    }
    return new QueryIndex(path, openDatabase(path), init)
  }

  /** Deletes an index file and its WAL (the index is derived: `rebuild` makes it again). */
  static async destroy (path: string): Promise<void> {
    for (const suffix of ['', '-wal', '-shm']) await rm(path + suffix, { force: true })
  }

  /** The cursor of a user's chain: entries [0, n) are indexed (0 if never indexed). */
  indexedLength (user: UserId): number {
    this.assertOpen()
    return this.writer.cursorOf(user)?.indexedLength ?? 0
  }

  /** Whether the index holds `user`'s chain with this key up to exactly `length` (nothing to do for it). */
  isIndexedTo (user: UserId, chainKey: Uint8Array, length: number): boolean {
    this.assertOpen()
    const cursor = this.writer.cursorOf(user)
    return cursor !== undefined && cursor.indexedLength === length && Buffer.from(cursor.chainKey).equals(chainKey)
  }

  /** Users with a chain in the index. */
  users (): UserId[] {
    this.assertOpen()
    return this.db.prepare('SELECT user_id FROM chains ORDER BY uid').pluck().all() as UserId[]
  }

  /**
   * Brings the index up to date with one chain: reads entries from the
   * cursor up to what the node has verified, in batches, each batch written
   * with its cursor in one transaction. Safe to call at any time and as
   * often as wanted; concurrent calls for one user run one after the other.
   * A failed batch leaves the cursor where it was (the error is thrown).
   */
  async indexChain (chain: UserChain, user: UserId | undefined = chain.userId): Promise<IndexResult> {
    this.assertAccepting()
    if (user === undefined) throw new NodeError('BAD_REQUEST', 'user: the chain has no genesis yet and no user was given', { field: 'user' })
    // The last run for this user never rejects (`settled` below), nor does the gate.
    const before = Promise.all([this.running.get(user), this.gate])
    const run = before.then(async () => await this.indexNow(chain, user))
    const settled = run.catch(() => {})
    this.running.set(user, settled)
    void settled.then(() => { if (this.running.get(user) === settled) this.running.delete(user) })
    return await run
  }

  /**
   * On the writing thread (a rebuild), each lane keeps both threads busy:
   * the next batch is read while the last one is written, and the first
   * while the cursor is asked for, from where it most likely is
   * (guessCursor; read again from the cursor's answer if it is elsewhere).
   * Inline, one thread does everything in turn anyway.
   */
  private async indexNow (chain: UserChain, user: UserId): Promise<IndexResult> {
    this.assertOpen()
    const writes = this.writes
    const ahead = writes !== this.inlineWrites
    const end = Math.min(chain.verifiedLength, chain.length)
    const readFrom = (start: number): { start: number, reading: Promise<ReadBatch> } => {
      const reading = readBatch(chain, start, Math.min(start + this.batchSize, end), this.batchBytes)
      // A read ahead may be dropped unawaited (the cursor was elsewhere, a write failed): its failure is not news.
      reading.catch(() => {})
      return { start, reading }
    }
    const guess = ahead ? this.guessCursor(user) : end
    let next = guess < end ? readFrom(guess) : undefined
    let cursor = await writes.cursorFor(user, chain.key)
    // A chain shorter than its cursor was replaced or truncated under us: index it again from the start.
    if (end < cursor.indexedLength) cursor = await writes.restart(cursor)
    const from = cursor.indexedLength
    let entries = 0
    let observations = 0
    let locations = 0
    let erased = 0
    while (cursor.indexedLength < end) {
      const read = await (next !== undefined && next.start === cursor.indexedLength ? next : readFrom(cursor.indexedLength)).reading
      this.assertOpen()
      // An erasure acknowledged while the batch was read (or waited here): its targets must not be indexed now.
      const erasedHere = chain.erasedPositions
      const blocks = erasedHere.size === 0 ? read.blocks : read.blocks.filter((b) => !erasedHere.has(b.seq))
      const writing = writes.applyBlocks(user, cursor, read.to, blocks)
      next = ahead && read.to < end ? readFrom(read.to) : undefined
      const result = await writing
      cursor = { ...cursor, indexedLength: read.to }
      entries += blocks.length
      observations += result.observations
      locations += result.locations
      erased += result.erased
    }
    return { user, from, to: cursor.indexedLength, entries, observations, locations, erased }
  }

  /** Where `user`'s cursor most likely is: where this thread's connection sees it (the writing thread may have moved it since). */
  private guessCursor (user: UserId): number {
    return this.writer.cursorOf(user)?.indexedLength ?? 0
  }

  /**
   * Empties the index and indexes every chain the ledger holds, reporting
   * progress after each chain. The rows go in without the indexes across
   * users, which are made once at the end from the rows (one sort each
   * instead of keeping them in order row by row); until then the file is marked
   * as a rebuild under way, so a crash part-way leaves a file the next open
   * empties, and the catch-up at start indexes every chain again.
   *
   * A file index writes on its own thread meanwhile (index-write-thread.ts):
   * this thread reads the chains, both decode them (whichever has the
   * time), that one inserts and sorts.
   */
  async rebuild (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
    this.assertAccepting()
    // One at a time: each empties the tables, and the first to end would switch the other's writes back inline.
    const before = this.rebuilding
    const run = before === undefined ? this.rebuildNow(ledger, onProgress) : before.then(async () => await this.rebuildNow(ledger, onProgress))
    const settled = run.then(() => {}, () => {})
    this.rebuilding = settled
    void settled.then(() => { if (this.rebuilding === settled) this.rebuilding = undefined })
    return await run
  }

  private async rebuildNow (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
    this.assertAccepting()
    const started = Date.now()
    let thread: IndexWriteThread | undefined
    await this.exclusively(async () => {
      // The writing thread starts loading while this one empties the tables (zeroing every page: secure_delete).
      thread = this.db.memory ? undefined : IndexWriteThread.start(this.path, this.onBatch)
      try {
        resetSchema(this.db, { rebuild: true })
      } catch (err) {
        await thread?.close()
        throw err
      }
      this.writer = new IndexWriter(this.db)
      this.writes = thread ?? this.inlineWrites
    })
    try {
      const loop = { indexChain: async (chain: UserChain, user: UserId) => await this.indexChain(chain, user), closed: () => this.closing || this.closed }
      const done = await indexEveryChain(ledger, loop, onProgress)
      this.assertAccepting()
      if (thread === undefined) finishRebuild(this.db)
      else await thread.finishRebuild()
      return { ...done, ms: Date.now() - started }
    } finally {
      await this.exclusively(async () => {
        this.writes = this.inlineWrites
        await thread?.close()
        if (!this.closed) {
          this.writer = new IndexWriter(this.db)
          this.queries = QueryIndex.prepareQueries(this.db)
        }
      })
    }
  }

  /**
   * Runs `change` with no indexChain under way: those running finish first,
   * those asked for meanwhile wait until it is done (and then write where
   * it left the writes going).
   */
  private async exclusively (change: () => Promise<void>): Promise<void> {
    const inFlight = [...this.running.values()]
    let open!: () => void
    const gate = new Promise<void>((resolve) => { open = resolve })
    const outer = this.gate
    this.gate = gate
    try {
      await Promise.all([outer, ...inFlight])
      await change()
    } finally {
      if (this.gate === gate) this.gate = undefined
      open()
    }
  }

  /**
   * Keeps the index up to date with a ledger's chains (see follower.ts):
   * catches up every chain now, then re-indexes a chain whenever the ledger
   * tells it changed (`Ledger.onChange`). Stop it before closing the index.
   */
  followLedger (ledger: Ledger, init: IndexFollowerInit = {}): IndexFollower {
    const follower = new IndexFollower({ ledger, index: this }, init)
    follower.start()
    return follower
  }

  private uid (user: UserId): number | undefined {
    this.assertOpen()
    return this.uidOf.get(user) as number | undefined
  }

  /** One measurement of one user over time, with statistics and reference-range flags (plain observations). */
  series (user: UserId, code: string, opts: SeriesOptions = {}): Series {
    return this.queries.series.run(this.uid(user), code, opts)
  }

  /** Steps, distance, active energy and heart rate of one user per day or ISO week. */
  exerciseSummary (user: UserId, period: SummaryPeriod, opts: ExerciseSummaryOptions = {}): ExercisePeriodSummary[] {
    return this.queries.exercise.run(this.uid(user), period, opts)
  }

  /** Every other user whose location came within R metres and T minutes of the user's points in [since, until). */
  trace (user: UserId, opts: TraceOptions): TraceContact[] {
    return this.queries.trace.run(this.uid(user), opts)
  }

  /** Aggregates over every chain, by code and period, small cells suppressed; no user ids. */
  statistics (opts: StatisticsOptions): Statistics {
    this.assertOpen()
    return this.queries.statistics.run(opts)
  }

  /** Row counts, for status pages and benchmarks. */
  counts (): { chains: number, observations: number, locations: number } {
    this.assertOpen()
    const count = (table: string): number => this.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number
    return { chains: count('chains'), observations: count('observations'), locations: count('locations') }
  }

  /** The database, for benchmarks and tests that load or inspect rows directly. */
  get database (): Db { return this.db }

  /**
   * Waits for indexing under way and stops a rebuild at its next chain (its
   * writing thread closed; the file stays marked, for the next open to
   * empty), then closes the database (a WAL checkpoint folds the log into
   * the file).
   */
  async close (): Promise<void> {
    if (this.closed) return
    this.closing = true
    await Promise.allSettled([...this.running.values(), this.rebuilding])
    this.closed = true
    this.db.close()
  }

  get isClosed (): boolean { return this.closed }

  private assertOpen (): void {
    if (this.closed) throw new NodeError('CLOSED', 'the query index is closed')
  }

  /** assertOpen, and no new work once close() was called. */
  private assertAccepting (): void {
    if (this.closing) throw new NodeError('CLOSED', 'the query index is closing')
    this.assertOpen()
  }
}
