/**
 * The read side of the PostgreSQL query index: each query's SQL in
 * PostgreSQL's dialect, its argument checks and arithmetic shared with
 * SQLite's. Where the dialects would order or compute differently, the SQL
 * here asks for SQLite's behaviour: text sorted by bytes (COLLATE "C", not
 * the database's locale), NULL first in ascending order, integer division
 * of bigint milliseconds, and UTC calendar labels.
 */
import type pg from 'pg'
import type { UserId } from '@healthchain/core'
import { EXERCISE_CODES, exerciseParams, summariseExercise, type ExercisePeriodSummary, type ExerciseRow, type ExerciseSummaryOptions, type SummaryPeriod } from './exercise-summary.js'
import { boxesAround, type LatLonBox } from './geo.js'
import { cellRowsOf, cellsOf } from './grid.js'
import { seriesParams, summariseSeries, type Series, type SeriesOptions, type SeriesRow } from './series.js'
import { bucketStatistics, statisticsParams, type Statistics, type StatisticsOptions, type StatisticsPeriod, type StatisticsRow } from './statistics.js'
import { TraceMatches, traceParams, type CandidateRow, type PointRow, type TraceContact, type TraceOptions } from './trace.js'

const DAY = 86_400_000

const UTC = "to_timestamp(time / 1000) AT TIME ZONE 'UTC'"
const PERIOD_SQL: Record<StatisticsPeriod, string> = {
  day: `to_char(${UTC}, 'YYYY-MM-DD')`,
  // date_trunc('week') is the ISO week's Monday, as SQLite's "weekday 0, -6 days" is.
  week: `to_char(date_trunc('week', ${UTC}), 'YYYY-MM-DD')`,
  month: `to_char(${UTC}, 'YYYY-MM')`
}

export abstract class PgQueries {
  protected readonly pool: pg.Pool

  protected constructor (pool: pg.Pool) {
    this.pool = pool
  }

  protected abstract assertOpen (): void

  private async uid (user: UserId): Promise<number | undefined> {
    this.assertOpen()
    const { rows } = await this.pool.query('SELECT uid FROM chains WHERE user_id = $1', [user])
    return (rows[0] as { uid: number } | undefined)?.uid
  }

  async users (): Promise<UserId[]> {
    this.assertOpen()
    return (await this.pool.query('SELECT user_id FROM chains ORDER BY uid')).rows.map((r: { user_id: UserId }) => r.user_id)
  }

  async counts (): Promise<{ chains: number, observations: number, locations: number }> {
    this.assertOpen()
    const { rows } = await this.pool.query(`SELECT (SELECT count(*) FROM chains) AS chains, (SELECT count(*) FROM observations) AS observations,
      (SELECT count(*) FROM locations) AS locations`)
    return rows[0] as { chains: number, observations: number, locations: number }
  }

  async series (user: UserId, code: string, opts: SeriesOptions = {}): Promise<Series> {
    const { since, until, source } = seriesParams(code, opts)
    const uid = await this.uid(user)
    const rows = uid === undefined
      ? []
      : (await this.pool.query(`SELECT seq, source, author, time, value, unit, low, high FROM observations
          WHERE uid = $1 AND code = $2 AND time >= $3 AND time < $4 AND value IS NOT NULL AND ($5::text IS NULL OR source = $5)
          ORDER BY time, seq, ord`, [uid, code, since, until, source])).rows as SeriesRow[]
    return summariseSeries(code, rows, opts)
  }

  async exerciseSummary (user: UserId, period: SummaryPeriod, opts: ExerciseSummaryOptions = {}): Promise<ExercisePeriodSummary[]> {
    const { since, until, offset } = exerciseParams(period, opts)
    const uid = await this.uid(user)
    if (uid === undefined) return []
    const c = EXERCISE_CODES
    const { rows } = await this.pool.query(`SELECT (time + $1::bigint) / ${DAY} AS bucket, seq, code, unit, value FROM observations
      WHERE uid = $2 AND source = 'exercise' AND time >= $3 AND time < $4 AND value IS NOT NULL AND code = ANY($5::text[])
      ORDER BY time, seq, ord`, [offset, uid, since, until, [c.steps, c.distance, c.distance24h, c.activeEnergy, c.heartRate]])
    return summariseExercise(rows as ExerciseRow[], period, offset)
  }

  /**
   * The user's points, then in ONE statement the candidates near each (a
   * LATERAL join, one seek of `locations_by_cell` per cell of each point's
   * box and its time window, as SQLite's TraceQuery makes), rather than a
   * round trip per point.
   */
  async trace (user: UserId, opts: TraceOptions): Promise<TraceContact[]> {
    const { since, until, radius, windowMs } = traceParams(opts)
    const uid = await this.uid(user)
    if (uid === undefined) return []
    const mine = (await this.pool.query('SELECT uid, seq, time, lat, lon, acc FROM locations WHERE uid = $1 AND time >= $2 AND time < $3 ORDER BY time, seq, id',
      [uid, since, until])).rows as PointRow[]
    const q: number[][] = Array.from({ length: 9 }, () => [])
    mine.forEach((me, i) => {
      for (const box of boxesAround(me.lat, me.lon, radius)) {
        for (const [first, last] of cellSpans(box)) {
          [i, first, last, box.minLat, box.maxLat, box.minLon, box.maxLon, me.time - windowMs, me.time + windowMs].forEach((v, j) => q[j]!.push(v))
        }
      }
    })
    const near = new Map<number, CandidateRow[]>()
    if (mine.length > 0) {
      const { rows } = await this.pool.query({
        text: `SELECT q.i, l.uid, l.seq, l.time, l.lat, l.lon, l.acc
          FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::bigint[], $9::bigint[])
            AS q (i, c0, c1, y0, y1, x0, x1, t0, t1)
          CROSS JOIN LATERAL (SELECT uid, seq, time, lat, lon, acc FROM locations
            WHERE cell BETWEEN q.c0 AND q.c1 AND time BETWEEN q.t0 AND q.t1
              AND lat BETWEEN q.y0 AND q.y1 AND lon BETWEEN q.x0 AND q.x1) l`,
        values: q,
        rowMode: 'array'
      })
      for (const [i, ...candidate] of rows as Array<[number, ...CandidateRow]>) {
        let list = near.get(i)
        if (list === undefined) near.set(i, list = [])
        list.push(candidate)
      }
    }
    const found = new TraceMatches(uid, radius, windowMs)
    mine.forEach((me, i) => { found.add(me, near.get(i) ?? []) })
    const names = new Map<number, UserId>()
    if (found.uids.length > 0) {
      const { rows } = await this.pool.query('SELECT uid, user_id FROM chains WHERE uid = ANY($1::int[])', [found.uids])
      for (const r of rows as Array<{ uid: number, user_id: UserId }>) names.set(r.uid, r.user_id)
    }
    return found.contacts((cuid) => names.get(cuid)!)
  }

  async statistics (opts: StatisticsOptions): Promise<Statistics> {
    const { period, code, source, since, until, k } = statisticsParams(opts)
    this.assertOpen()
    const { rows } = await this.pool.query(`SELECT code, unit, ${PERIOD_SQL[period]} AS period, value, uid FROM observations
      WHERE value IS NOT NULL AND time >= $1 AND time < $2 AND ($3::text IS NULL OR code = $3) AND ($4::text IS NULL OR source = $4)
      ORDER BY code COLLATE "C", unit COLLATE "C" NULLS FIRST, 3, value`, [since, until, code, source])
    return bucketStatistics(period, k, rows as StatisticsRow[])
  }
}

/** Cells listed one by one (each an exact seek of cell and time) up to this many a box; beyond, a range per grid row. */
const SEEKS_PER_BOX = 16

/**
 * The cells of a box as [first, last] spans of `locations_by_cell`: each
 * cell alone while there are few (a seek of one cell and the time window);
 * for a wider box, one span per grid row (its cells are consecutive
 * numbers), scanned with the time as a filter, so that the statement's
 * parameters stay small for the widest radius a trace allows.
 */
function cellSpans (box: LatLonBox): Array<[number, number]> {
  const cells = cellsOf(box)
  return 'cells' in cells && cells.cells.length <= SEEKS_PER_BOX ? cells.cells.map((c) => [c, c]) : cellRowsOf(box)
}
