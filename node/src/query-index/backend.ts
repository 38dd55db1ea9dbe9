/**
 * The query index as the rest of the node uses it, whichever database holds
 * it: embedded SQLite (the default, `QueryIndex`) or PostgreSQL with PostGIS
 * (`PgQueryIndex`). Async throughout, because a server database answers
 * over a socket; SQLite answers at once, inside a resolved promise.
 *
 * Both backends share every argument check and every computation over rows
 * (series.ts, exercise-summary.ts, statistics.ts, trace.ts); each holds only
 * its SQL. The same tests run against both and compare their answers.
 */
import { join } from 'node:path'
import type { UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import type { ExercisePeriodSummary, ExerciseSummaryOptions, SummaryPeriod } from './exercise-summary.js'
import { PgQueryIndex } from './pg-index.js'
import { INDEX_FILE_NAME, QueryIndex, type IndexResult, type QueryIndexInit, type RebuildProgress, type RebuildResult } from './query-index.js'
import type { Series, SeriesOptions } from './series.js'
import type { Statistics, StatisticsOptions } from './statistics.js'
import type { TraceContact, TraceOptions } from './trace.js'

/** Where the index lives: the config's `index` setting. */
export type IndexConfig = { readonly kind: 'sqlite' } | { readonly kind: 'postgres', readonly url: string }

export interface QueryIndexBackend {
  readonly kind: 'sqlite' | 'postgres'
  readonly isClosed: boolean
  indexChain: (chain: UserChain, user?: UserId) => Promise<IndexResult>
  rebuild: (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void) => Promise<RebuildResult>
  indexedLength: (user: UserId) => Promise<number>
  isIndexedTo: (user: UserId, chainKey: Uint8Array, length: number) => Promise<boolean>
  users: () => Promise<UserId[]>
  series: (user: UserId, code: string, opts?: SeriesOptions) => Promise<Series>
  exerciseSummary: (user: UserId, period: SummaryPeriod, opts?: ExerciseSummaryOptions) => Promise<ExercisePeriodSummary[]>
  trace: (user: UserId, opts: TraceOptions) => Promise<TraceContact[]>
  statistics: (opts: StatisticsOptions) => Promise<Statistics>
  counts: () => Promise<{ chains: number, observations: number, locations: number }>
  close: () => Promise<void>
}

/** The SQLite index behind the async interface (its calls stay synchronous inside). */
export class SqliteIndexBackend implements QueryIndexBackend {
  readonly kind = 'sqlite'
  constructor (readonly index: QueryIndex) {}
  get isClosed (): boolean { return this.index.isClosed }
  async indexChain (chain: UserChain, user?: UserId): Promise<IndexResult> { return await this.index.indexChain(chain, user) }
  async rebuild (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
    return await this.index.rebuild(ledger, onProgress)
  }

  async indexedLength (user: UserId): Promise<number> { return this.index.indexedLength(user) }
  async isIndexedTo (user: UserId, chainKey: Uint8Array, length: number): Promise<boolean> { return this.index.isIndexedTo(user, chainKey, length) }
  async users (): Promise<UserId[]> { return this.index.users() }
  async series (user: UserId, code: string, opts?: SeriesOptions): Promise<Series> { return this.index.series(user, code, opts) }
  async exerciseSummary (user: UserId, period: SummaryPeriod, opts?: ExerciseSummaryOptions): Promise<ExercisePeriodSummary[]> {
    return this.index.exerciseSummary(user, period, opts)
  }

  async trace (user: UserId, opts: TraceOptions): Promise<TraceContact[]> { return this.index.trace(user, opts) }
  async statistics (opts: StatisticsOptions): Promise<Statistics> { return this.index.statistics(opts) }
  async counts (): Promise<{ chains: number, observations: number, locations: number }> { return this.index.counts() }
  async close (): Promise<void> { await this.index.close() }
}

/** Opens the index the config names: `<indexDir>/index.sqlite`, or the PostgreSQL database at `url`. */
export async function openQueryIndex (config: IndexConfig, indexDir: string, init: QueryIndexInit = {}): Promise<QueryIndexBackend> {
  if (config.kind === 'postgres') return await PgQueryIndex.open(config.url, init)
  return new SqliteIndexBackend(QueryIndex.open(join(indexDir, INDEX_FILE_NAME), init))
}
