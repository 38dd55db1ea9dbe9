/**
 * The benefits the design promises, served from the derived query index
 * (plain segments only — nothing sealed is in it, so no query here can leak
 * a sealed value whoever asks): a measurement over time, exercise
 * summaries, contact tracing, statistics with small cells suppressed.
 *
 * A user id not held here is UNKNOWN_CHAIN (the index alone would answer
 * with nothing); reads about one user go through the access policy.
 */
import type { UserId } from '@healthchain/core'
import type { ExerciseReply, SeriesReply, StatisticsReply, TraceReply } from '../api/insights.js'
import type {
  ExerciseSummaryOptions, QueryIndexBackend, SeriesOptions, StatisticsOptions, SummaryPeriod, TraceOptions
} from '../query-index/index.js'

/** Either backend's queries: SQLite's answer at once, PostgreSQL's in a promise. */
type Answers<T> = { [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R | Promise<R> : never }
import type { AccessPolicy, Caller } from './access.js'

export interface InsightsComponents {
  readonly index: Answers<Pick<QueryIndexBackend, 'series' | 'exerciseSummary' | 'trace' | 'statistics'>>
  readonly access: AccessPolicy
}

export interface InsightService {
  series (caller: Caller, user: UserId, code: string, opts: SeriesOptions): Promise<SeriesReply>
  exercise (caller: Caller, user: UserId, period: SummaryPeriod, opts: ExerciseSummaryOptions): Promise<ExerciseReply>
  /** Whose location points came near `user`'s (the route guard admits inquirers only). */
  trace (user: UserId, opts: TraceOptions): Promise<TraceReply>
  statistics (opts: StatisticsOptions): Promise<StatisticsReply>
}

export function createInsightService (components: InsightsComponents): InsightService {
  const { index, access } = components
  return {
    async series (caller, user, code, opts) {
      return await index.series(access.readableUser(caller, user), code, opts)
    },
    async exercise (caller, user, period, opts) {
      return await index.exerciseSummary(access.readableUser(caller, user), period, opts)
    },
    async trace (user, opts) {
      access.checkHeld(user)
      return { userId: user, contacts: await index.trace(user, opts) }
    },
    async statistics (opts) {
      return await index.statistics(opts)
    }
  }
}
