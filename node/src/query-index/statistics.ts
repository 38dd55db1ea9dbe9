/**
 * Statistics for inquirers: counts and distributions of plain observations
 * by code, unit and period, over every chain in the index. Aggregates only —
 * no user id, no position, no single reading leaves this module — and a
 * bucket with readings from fewer than `minUsers` (k, at least 5) different
 * users is suppressed (small-cell suppression): it is listed as suppressed,
 * with no numbers, since a count or a minimum of two people's readings says
 * too much about each of them.
 *
 * Percentiles are linearly interpolated between the closest ranks (the
 * common "type 7" definition: numpy's and R's default).
 *
 * Periods are UTC: `day` (YYYY-MM-DD), `week` (ISO week, labelled by its
 * Monday's date) and `month` (YYYY-MM).
 */
import { meanOf } from './mean.js'
import { checkChoice, checkCode, checkNumber, checkWindow } from './params.js'
import type { ObservationSource } from './rows.js'
import type { Statement } from 'better-sqlite3'
import type { Db } from './schema.js'

export type StatisticsPeriod = 'day' | 'week' | 'month'

/** The smallest k a caller may ask for. */
export const MIN_SUPPRESSION_K = 5
/** The largest minUsers a query may ask for (six digits over HTTP). */
export const MAX_MIN_USERS = 999_999

export interface StatisticsOptions {
  /** One LOINC code (default: every code). */
  readonly code?: string
  readonly since?: number
  readonly until?: number
  readonly period: StatisticsPeriod
  /** Only exam or only exercise observations (default both). */
  readonly source?: ObservationSource
  /** k of the small-cell suppression (default and minimum 5). */
  readonly minUsers?: number
}

export interface StatisticsBucket {
  readonly code: string
  readonly unit: string | null
  /** `YYYY-MM-DD` (day, or the Monday of a week) or `YYYY-MM` (month). */
  readonly period: string
  /** True when fewer than k users contributed: no numbers are given. */
  readonly suppressed: boolean
  readonly count?: number
  /** Different users who contributed (never who). */
  readonly users?: number
  readonly mean?: number
  readonly min?: number
  readonly max?: number
  readonly p10?: number
  readonly p50?: number
  readonly p90?: number
}

export interface Statistics {
  readonly period: StatisticsPeriod
  readonly minUsers: number
  readonly buckets: StatisticsBucket[]
  /** Buckets suppressed because fewer than minUsers users contributed. */
  readonly suppressedBuckets: number
}

const PERIOD_SQL: Record<StatisticsPeriod, string> = {
  day: "strftime('%Y-%m-%d', time / 1000, 'unixepoch')",
  // The Sunday on or after the day, less six days: the week's Monday.
  week: "date(time / 1000, 'unixepoch', 'weekday 0', '-6 days')",
  month: "strftime('%Y-%m', time / 1000, 'unixepoch')"
}

/** One value as either backend returns it, sorted by (code, unit, period, value), nulls and bytes ordered as SQLite does. */
export interface StatisticsRow { code: string, unit: string | null, period: string, value: number, uid: number }

/** Type-7 percentile of sorted values. */
export function percentile (sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p
  const lo = Math.floor(h)
  const hi = Math.ceil(h)
  const frac = h - lo
  // Weighted, not lo + frac × (hi − lo): the difference of two values near ±1.8e308 overflows.
  return frac === 0 ? sorted[lo]! : sorted[lo]! * (1 - frac) + sorted[hi]! * frac
}

export class StatisticsQuery {
  private readonly statements: Record<StatisticsPeriod, Statement<unknown[]>>

  constructor (db: Db) {
    const prepare = (period: StatisticsPeriod): Statement<unknown[]> => db.prepare(`SELECT code, unit, ${PERIOD_SQL[period]} AS period, value, uid
      FROM observations
      WHERE value IS NOT NULL AND time >= ? AND time < ? AND (? IS NULL OR code = ?) AND (? IS NULL OR source = ?)
      ORDER BY code, unit, period, value`)
    this.statements = { day: prepare('day'), week: prepare('week'), month: prepare('month') }
  }

  run (opts: StatisticsOptions): Statistics {
    const { period, code, source, since, until, k } = statisticsParams(opts)
    return bucketStatistics(period, k, this.statements[period].iterate(since, until, code, code, source, source) as IterableIterator<StatisticsRow>)
  }
}

/** Checks a statistics query's arguments and gives what every backend binds. */
export function statisticsParams (opts: StatisticsOptions): {
  period: StatisticsPeriod, code: string | null, source: ObservationSource | null, since: number, until: number, k: number
} {
  const period = checkChoice(opts.period, 'period', ['day', 'week', 'month'])
  const code = opts.code === undefined ? null : checkCode(opts.code)
  const source = opts.source === undefined ? null : checkChoice(opts.source, 'source', ['exam', 'exercise'])
  const { since, until } = checkWindow(opts.since, opts.until)
  const k = checkNumber(opts.minUsers ?? MIN_SUPPRESSION_K, 'minUsers', MIN_SUPPRESSION_K, MAX_MIN_USERS)
  return { period, code, source, since, until, k }
}

/** Buckets sorted rows, suppressing cells of fewer than k users: the same arithmetic whichever backend read them. */
export function bucketStatistics (period: StatisticsPeriod, k: number, rows: Iterable<StatisticsRow>): Statistics {
  const buckets: StatisticsBucket[] = []
  let current: { code: string, unit: string | null, period: string, values: number[], users: Set<number> } | undefined
  const close = (): void => {
    if (current === undefined) return
    const { code: c, unit, period: label, values, users } = current
    if (users.size < k) {
      buckets.push({ code: c, unit, period: label, suppressed: true })
    } else {
      // Rows arrive sorted by value within a bucket.
      buckets.push({
        code: c,
        unit,
        period: label,
        suppressed: false,
        count: values.length,
        users: users.size,
        mean: meanOf(values)!,
        min: values[0]!,
        max: values[values.length - 1]!,
        p10: percentile(values, 0.1),
        p50: percentile(values, 0.5),
        p90: percentile(values, 0.9)
      })
    }
    current = undefined
  }
  for (const r of rows) {
    if (current === undefined || current.code !== r.code || current.unit !== r.unit || current.period !== r.period) {
      close()
      current = { code: r.code, unit: r.unit, period: r.period, values: [], users: new Set() }
    }
    current.values.push(r.value)
    current.users.add(r.uid)
  }
  close()
  return { period, minUsers: k, buckets, suppressedBuckets: buckets.filter((b) => b.suppressed).length }
}
