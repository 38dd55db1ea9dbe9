/**
 * A measurement over time: one LOINC code in one user's chain, across every
 * institution (and the user's own devices) that wrote it, with statistics
 * and reference-range flags. Plain observations only (the index holds
 * nothing else); the caller decides who may ask for which user.
 */
import { meanOf } from './mean.js'
import type { ObservationSource } from './rows.js'
import { checkChoice, checkCode, checkNumber, checkWindow } from './params.js'
import { outOfRange, rangeFor, type ReferenceRange } from './reference-ranges.js'
import type { Db } from './schema.js'

export interface SeriesOptions {
  /** Inclusive, milliseconds since the epoch. */
  readonly since?: number
  /** Exclusive. */
  readonly until?: number
  /** Judge every value against this range instead of the written or built-in one. */
  readonly reference?: ReferenceRange
  /** The unit to report (default: the latest value's). Values in other units are counted in `otherUnits`, not mixed in. */
  readonly unit?: string
  /** Only observations from exams or from exercise entries (default both). */
  readonly source?: ObservationSource
}

export interface SeriesPoint {
  readonly time: number
  readonly value: number
  readonly unit: string | null
  /** `user` (the user's own device) or the writing institution. */
  readonly author: string
  readonly source: ObservationSource
  /** The entry's position in the chain. */
  readonly seq: number
  /** The range the value was judged against, if any. */
  readonly range?: ReferenceRange
  readonly outOfRange: boolean
}

export interface SeriesValue {
  readonly time: number
  readonly value: number
  readonly author: string
  readonly seq: number
}

export interface Series {
  readonly code: string
  readonly unit: string | null
  readonly count: number
  readonly min: number | null
  readonly max: number | null
  readonly mean: number | null
  readonly first: SeriesValue | null
  readonly latest: SeriesValue | null
  /** latest − first; null with fewer than one value. */
  readonly change: number | null
  /** How many values lie outside their reference range. */
  readonly outOfRange: number
  /** Institutions (and `user`) that wrote the values, sorted. */
  readonly authors: string[]
  readonly points: SeriesPoint[]
  /** Values of the same code in other units, left out of the statistics above. */
  readonly otherUnits: Array<{ unit: string | null, count: number }>
}

/** One observation as either backend returns it for a series. */
export interface SeriesRow {
  seq: number
  source: ObservationSource
  author: string
  time: number
  value: number
  unit: string | null
  low: number | null
  high: number | null
}

export class SeriesQuery {
  private readonly select

  constructor (db: Db) {
    this.select = db.prepare(`SELECT seq, source, author, time, value, unit, low, high FROM observations
      WHERE uid = ? AND code = ? AND time >= ? AND time < ? AND value IS NOT NULL AND (? IS NULL OR source = ?)
      ORDER BY time, seq, ord`)
  }

  run (uid: number | undefined, code: string, opts: SeriesOptions = {}): Series {
    const { since, until, source } = seriesParams(code, opts)
    const rows = uid === undefined ? [] : this.select.all(uid, code, since, until, source, source) as SeriesRow[]
    return summariseSeries(code, rows, opts)
  }
}

/** Checks a series' arguments (BAD_REQUEST naming the field) and gives the SQL parameters every backend binds. */
export function seriesParams (code: string, opts: SeriesOptions): { since: number, until: number, source: ObservationSource | null } {
  checkCode(code)
  const { since, until } = checkWindow(opts.since, opts.until)
  const source = opts.source === undefined ? null : checkChoice(opts.source, 'source', ['exam', 'exercise'])
  if (opts.reference?.low !== undefined) checkNumber(opts.reference.low, 'reference.low', -Number.MAX_VALUE, Number.MAX_VALUE)
  if (opts.reference?.high !== undefined) checkNumber(opts.reference.high, 'reference.high', -Number.MAX_VALUE, Number.MAX_VALUE)
  return { since, until, source }
}

/** The series of rows sorted by (time, seq, ord): the same arithmetic whichever backend read them. */
export function summariseSeries (code: string, rows: SeriesRow[], opts: SeriesOptions): Series {
  const unit = opts.unit !== undefined ? opts.unit : rows.length > 0 ? rows[rows.length - 1]!.unit : null
  const mine = rows.filter((r) => r.unit === unit)
  const others = new Map<string | null, number>()
  for (const r of rows) if (r.unit !== unit) others.set(r.unit, (others.get(r.unit) ?? 0) + 1)

  const points: SeriesPoint[] = mine.map((r) => {
    const range = rangeFor(code, r.unit, r, opts.reference)
    return {
      time: r.time,
      value: r.value,
      unit: r.unit,
      author: r.author,
      source: r.source,
      seq: r.seq,
      ...(range === undefined ? {} : { range }),
      outOfRange: outOfRange(r.value, range)
    }
  })
  let min: number | null = null
  let max: number | null = null
  for (const p of points) {
    min = min === null ? p.value : Math.min(min, p.value)
    max = max === null ? p.value : Math.max(max, p.value)
  }
  const valueOf = (p: SeriesPoint | undefined): SeriesValue | null => p === undefined ? null : { time: p.time, value: p.value, author: p.author, seq: p.seq }
  const first = valueOf(points[0])
  const latest = valueOf(points[points.length - 1])
  return {
    code,
    unit,
    count: points.length,
    min,
    max,
    mean: meanOf(points.map((p) => p.value)),
    first,
    latest,
    change: first === null || latest === null ? null : latest.value - first.value,
    outOfRange: points.filter((p) => p.outOfRange).length,
    authors: [...new Set(points.map((p) => p.author))].sort(),
    points,
    otherUnits: [...others].map(([u, count]) => ({ unit: u, count })).sort((a, b) => String(a.unit).localeCompare(String(b.unit)))
  }
}
