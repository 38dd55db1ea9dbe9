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
  ExerciseSummaryOptions, QueryIndex, SeriesOptions, StatisticsOptions, SummaryPeriod, TraceOptions
} from '../query-index/index.js'
import type { AccessPolicy, Caller } from './access.js'

export interface InsightsComponents {
  readonly index: Pick<QueryIndex, 'series' | 'exerciseSummary' | 'trace' | 'statistics'>
  readonly access: AccessPolicy
}

export interface InsightService {
  series (caller: Caller, user: UserId, code: string, opts: SeriesOptions): SeriesReply
  exercise (caller: Caller, user: UserId, period: SummaryPeriod, opts: ExerciseSummaryOptions): ExerciseReply
  /** Whose location points came near `user`'s (the route guard admits inquirers only). */
  trace (user: UserId, opts: TraceOptions): TraceReply
  statistics (opts: StatisticsOptions): StatisticsReply
}

export function createInsightService (components: InsightsComponents): InsightService {
  const { index, access } = components
  return {
    series (caller, user, code, opts) {
      return index.series(access.readableUser(caller, user), code, opts)
    },
    exercise (caller, user, period, opts) {
      return index.exerciseSummary(access.readableUser(caller, user), period, opts)
    },
    trace (user, opts) {
      access.checkHeld(user)
      return { userId: user, contacts: index.trace(user, opts) }
    },
    statistics (opts) {
      return index.statistics(opts)
    }
  }
}
