/**
 * The node's derived query index: an embedded SQLite database in
 * `<dataDir>/index/index.sqlite`, fed from verified chain entries and never a
 * source of truth.
 *
 * Flow:
 *   indexChain(chain) ─► cursor (chains.indexed_length)
 *                    ─► read [cursor, verified end) in batches of 1,000
 *                       (chain.read: erased entries are left out)
 *                    ─► IndexWriter.applyBatch: rows + erasures + new cursor,
 *                       one transaction per batch
 *   rebuild(ledger)  ─► empty every table (marked: a rebuild under way),
 *                       indexChain for every chain without secondary
 *                       indexes, then the indexes from the rows (one sort each)
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
import type { Ledger, UserChain } from '@healthchain/ledger'
import { NodeError } from '../errors.js'
import { ExerciseSummaryQuery, type ExercisePeriodSummary, type ExerciseSummaryOptions, type SummaryPeriod } from './exercise-summary.js'
import { IndexWriter, type BatchHook } from './index-writer.js'
import { finishRebuild, openDatabase, resetSchema, truncateWal, type Db } from './schema.js'
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

export class QueryIndex {
  readonly path: string
  private readonly db: Db
  private readonly batchSize: number
  private readonly onBatch: BatchHook | undefined
  private writer: IndexWriter
  private queries: { series: SeriesQuery, exercise: ExerciseSummaryQuery, trace: TraceQuery, statistics: StatisticsQuery }
  private readonly uidOf
  /** One indexChain per user at a time: two would read the same batch and the second would find the cursor moved. */
  private readonly running = new Map<UserId, Promise<unknown>>()
  private closed = false

  private constructor (path: string, db: Db, init: QueryIndexInit) {
    this.path = path
    this.db = db
    this.batchSize = init.batchSize ?? 1000
    this.onBatch = init.onBatch
    this.writer = new IndexWriter(db)
    this.queries = QueryIndex.prepareQueries(db)
    this.uidOf = db.prepare('SELECT uid FROM chains WHERE user_id = ?').pluck()
  }

  private static prepareQueries (db: Db): QueryIndex['queries'] {
    return { series: new SeriesQuery(db), exercise: new ExerciseSummaryQuery(db), trace: new TraceQuery(db), statistics: new StatisticsQuery(db) }
  }

  /** Opens (or creates) the index at `path`; a file of another schema version starts over empty. */
  static open (path: string, init: QueryIndexInit = {}): QueryIndex {
    if (init.batchSize !== undefined && (!Number.isInteger(init.batchSize) || init.batchSize < 1)) {
      throw new NodeError('BAD_REQUEST', 'batchSize: expected a positive integer', { field: 'batchSize' })
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
    this.assertOpen()
    if (user === undefined) throw new NodeError('BAD_REQUEST', 'user: the chain has no genesis yet and no user was given', { field: 'user' })
    const before = this.running.get(user) ?? Promise.resolve()
    const run = before.then(async () => await this.indexNow(chain, user), async () => await this.indexNow(chain, user))
    const settled = run.catch(() => {})
    this.running.set(user, settled)
    void settled.then(() => { if (this.running.get(user) === settled) this.running.delete(user) })
    return await run
  }

  private async indexNow (chain: UserChain, user: UserId): Promise<IndexResult> {
    this.assertOpen()
    let cursor = this.writer.cursorFor(user, chain.key)
    const end = Math.min(chain.verifiedLength, chain.length)
    // A chain shorter than its cursor was replaced or truncated under us: index it again from the start.
    if (end < cursor.indexedLength) cursor = this.writer.restart(cursor)
    const from = cursor.indexedLength
    let entries = 0
    let observations = 0
    let locations = 0
    let erased = 0
    while (cursor.indexedLength < end) {
      const to = Math.min(cursor.indexedLength + this.batchSize, end)
      const read = await chain.read({ start: cursor.indexedLength, end: to })
      // Entries an erasure named but whose data this node has not cleared yet: never index them.
      const erasedHere = chain.erasedPositions
      const batch = erasedHere.size === 0 ? read : read.filter((e) => !erasedHere.has(e.seq))
      this.assertOpen()
      const result = this.writer.applyBatch(user, cursor, to, batch, this.onBatch)
      cursor = { ...cursor, indexedLength: to }
      entries += batch.length
      observations += result.observations
      locations += result.locations
      erased += result.erased
    }
    return { user, from, to: cursor.indexedLength, entries, observations, locations, erased }
  }

  /**
   * Empties the index and indexes every chain the ledger holds, reporting
   * progress after each chain. The rows go in without the secondary indexes,
   * which are made once at the end from the rows (one sort each instead of
   * keeping them in order row by row); until then the file is marked
   * as a rebuild under way, so a crash part-way leaves a file the next open
   * empties, and the catch-up at start indexes every chain again.
   */
  async rebuild (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
    this.assertOpen()
    const started = Date.now()
    await Promise.allSettled(this.running.values())
    resetSchema(this.db, { rebuild: true })
    this.writer = new IndexWriter(this.db)
    this.queries = QueryIndex.prepareQueries(this.db)
    const done = await indexEveryChain(ledger, { indexChain: async (chain, user) => await this.indexChain(chain, user), closed: () => this.closed }, onProgress)
    this.assertOpen()
    finishRebuild(this.db)
    // The tables dropped above were zeroed (secure_delete), but the WAL still holds their pages as they were.
    truncateWal(this.db)
    return { ...done, ms: Date.now() - started }
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

  /** Waits for indexing under way, then closes the database (a WAL checkpoint folds the log into the file). */
  async close (): Promise<void> {
    if (this.closed) return
    await Promise.allSettled(this.running.values())
    this.closed = true
    this.db.close()
  }

  get isClosed (): boolean { return this.closed }

  private assertOpen (): void {
    if (this.closed) throw new NodeError('CLOSED', 'the query index is closed')
  }
}
