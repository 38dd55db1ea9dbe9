/**
 * Daily and weekly exercise summaries of one user, from the observations of
 * their `exercise` entries (plain segments), with the LOINC codes and UCUM
 * units the phone client writes (core's vocabulary, EXERCISE_MEASURES):
 *
 *   steps          55423-8  {steps}        summed
 *   distance       55430-3  m (or km)      summed, in metres; 41953-1 (24-hour
 *                                          walking distance) counts too
 *   active energy  41981-2  kcal (or kJ)   summed, in kcal
 *   heart rate     8867-4   /min           mean over the period's readings
 *
 * A reading belongs to the period its time falls in (its own time, else its
 * exercise period's start): a session across midnight counts for the day it
 * began. Periods are days or ISO weeks (Monday to Sunday) in UTC shifted by
 * `utcOffsetMinutes`, so a caller can ask in the user's local time.
 */
import { DISTANCE_24H_LOINC, EXERCISE_MEASURES } from '@healthchain/core'
import { checkChoice, checkOffsetMinutes, checkWindow } from './params.js'
import type { Db } from './schema.js'

export const EXERCISE_CODES = Object.freeze({
  steps: EXERCISE_MEASURES.steps.loinc,
  distance: EXERCISE_MEASURES.distance.loinc,
  distance24h: DISTANCE_24H_LOINC,
  activeEnergy: EXERCISE_MEASURES.activeEnergy.loinc,
  heartRate: EXERCISE_MEASURES.heartRate.loinc
})

export type SummaryPeriod = 'day' | 'week'

export interface ExerciseSummaryOptions {
  readonly since?: number
  readonly until?: number
  /** Local time's offset from UTC for the period boundaries, in minutes (default 0). */
  readonly utcOffsetMinutes?: number
}

export interface ExercisePeriodSummary {
  /** First day of the period, `YYYY-MM-DD` in the offset's local time. */
  readonly label: string
  /** The period's bounds, milliseconds since the epoch ([start, end)). */
  readonly start: number
  readonly end: number
  /** Exercise entries with at least one reading in the period. */
  readonly sessions: number
  readonly steps: number
  readonly distanceMetres: number
  readonly activeEnergyKcal: number
  /** Mean of the heart-rate readings; null without any. */
  readonly heartRateMean: number | null
  readonly heartRateReadings: number
}

const DAY = 86_400_000
/** 1970-01-01 was a Thursday: shifting days by 3 makes weeks start on Monday. */
const MONDAY_SHIFT = 3

/** Factors to the summary's units; units not listed here are left out. */
const DISTANCE_TO_METRES: Record<string, number> = { m: 1, km: 1000 }
const ENERGY_TO_KCAL: Record<string, number> = { kcal: 1, kJ: 1 / 4.184 }

/** One reading as either backend returns it: bucket = floor((time + offset) / day). */
export interface ExerciseRow { bucket: number, seq: number, code: string, unit: string | null, value: number }

export class ExerciseSummaryQuery {
  private readonly select

  constructor (db: Db) {
    this.select = db.prepare(`SELECT CAST((time + ?) / ${DAY} AS INTEGER) AS bucket, seq, code, unit, value FROM observations
      WHERE uid = ? AND source = 'exercise' AND time >= ? AND time < ? AND value IS NOT NULL AND code IN (?, ?, ?, ?, ?)
      ORDER BY time, seq, ord`)
  }

  run (uid: number | undefined, period: SummaryPeriod, opts: ExerciseSummaryOptions = {}): ExercisePeriodSummary[] {
    const { since, until, offset } = exerciseParams(period, opts)
    if (uid === undefined) return []
    const c = EXERCISE_CODES
    const rows = this.select.all(offset, uid, since, until, c.steps, c.distance, c.distance24h, c.activeEnergy, c.heartRate) as ExerciseRow[]
    return summariseExercise(rows, period, offset)
  }
}

/** Checks a summary's arguments and gives what every backend binds: the window and the offset in milliseconds. */
export function exerciseParams (period: SummaryPeriod, opts: ExerciseSummaryOptions): { since: number, until: number, offset: number } {
  checkChoice(period, 'period', ['day', 'week'])
  const { since, until } = checkWindow(opts.since, opts.until)
  return { since, until, offset: checkOffsetMinutes(opts.utcOffsetMinutes) * 60_000 }
}

/** Sums rows sorted by (time, seq, ord) into periods: the same arithmetic whichever backend read them. */
export function summariseExercise (rows: readonly ExerciseRow[], period: SummaryPeriod, offset: number): ExercisePeriodSummary[] {
  const c = EXERCISE_CODES
  const periods = new Map<number, { sessions: Set<number>, steps: number, distance: number, energy: number, hrSum: number, hrCount: number }>()
  for (const r of rows) {
    const key = period === 'day' ? r.bucket : Math.floor((r.bucket + MONDAY_SHIFT) / 7)
    let p = periods.get(key)
    if (p === undefined) {
      p = { sessions: new Set(), steps: 0, distance: 0, energy: 0, hrSum: 0, hrCount: 0 }
      periods.set(key, p)
    }
    p.sessions.add(r.seq)
    if (r.code === c.steps) p.steps += r.value
    else if (r.code === c.distance || r.code === c.distance24h) p.distance += r.value * (DISTANCE_TO_METRES[r.unit ?? ''] ?? 0)
    else if (r.code === c.activeEnergy) p.energy += r.value * (ENERGY_TO_KCAL[r.unit ?? ''] ?? 0)
    else if (r.code === c.heartRate) { p.hrSum += r.value; p.hrCount++ }
  }
  return [...periods].sort(([a], [b]) => a - b).map(([key, p]) => {
    const firstDay = period === 'day' ? key : key * 7 - MONDAY_SHIFT
    const start = firstDay * DAY - offset
    return {
      label: new Date(firstDay * DAY).toISOString().slice(0, 10),
      start,
      end: start + (period === 'day' ? DAY : 7 * DAY),
      sessions: p.sessions.size,
      steps: p.steps,
      distanceMetres: p.distance,
      activeEnergyKcal: p.energy,
      heartRateMean: p.hrCount === 0 ? null : p.hrSum / p.hrCount,
      heartRateReadings: p.hrCount
    }
  })
}
