/**
 * Exercise measurements as the phone records them, mapped onto core's
 * exercise plain segment `{ start, end, observations: [{ code, value, unit }] }`
 * with LOINC codes and UCUM units (FHIR R4 Observation's vocabulary).
 *
 * Codes, and why these ones:
 * - steps: 55423-8 "Number of steps in unspecified time Pedometer", unit
 *   `{steps}` — the only LOINC steps term without a fixed window (41950-7 and
 *   41952-3 are 24-hour and weekly aggregates; a phone sample covers any period).
 * - distance: 55430-3 "Walking distance unspecified time Pedometer", unit `m`
 *   — for the same reason: 41953-1 and 41954-9 are 24-hour aggregates.
 * - active energy: 41981-2 "Calories burned", unit `kcal`.
 * - heart rate: 8867-4 "Heart rate", unit `/min` (also a FHIR vital sign).
 */
import { ENTRY_LIMITS, type ExercisePlain, type Observation } from '@healthchain/core'
import { ClientError } from './errors.js'
import { toMillis, type TimeInput } from './time.js'

export type ExerciseMeasure = 'steps' | 'distance' | 'activeEnergy' | 'heartRate'

export interface MeasureDefinition {
  readonly loinc: string
  /** LOINC's long common name. */
  readonly display: string
  /** The UCUM code. */
  readonly unit: string
  /** How the unit reads for a person (FHIR's Quantity.unit). */
  readonly unitDisplay: string
  /** Plausible range: anything outside is a sensor or import error, refused as INVALID_INPUT. */
  readonly min: number
  readonly max: number
  readonly integer: boolean
}

export const EXERCISE_MEASURES: Readonly<Record<ExerciseMeasure, MeasureDefinition>> = Object.freeze({
  steps: { loinc: '55423-8', display: 'Number of steps in unspecified time Pedometer', unit: '{steps}', unitDisplay: 'steps', min: 0, max: 1_000_000, integer: true },
  distance: { loinc: '55430-3', display: 'Walking distance unspecified time Pedometer', unit: 'm', unitDisplay: 'm', min: 0, max: 1_000_000, integer: false },
  activeEnergy: { loinc: '41981-2', display: 'Calories burned', unit: 'kcal', unitDisplay: 'kcal', min: 0, max: 100_000, integer: false },
  heartRate: { loinc: '8867-4', display: 'Heart rate', unit: '/min', unitDisplay: 'beats/minute', min: 1, max: 300, integer: false }
})

/** The measure a LOINC code stands for, if it is one of the exercise measures. */
export function measureOfCode (code: string): ExerciseMeasure | undefined {
  return (Object.keys(EXERCISE_MEASURES) as ExerciseMeasure[]).find((m) => EXERCISE_MEASURES[m].loinc === code)
}

/** One measurement as an observation of core's shape; INVALID_INPUT if the value is implausible. */
export function measureObservation (measure: ExerciseMeasure, value: number, opts: { time?: TimeInput, field?: string } = {}): Observation {
  const def = EXERCISE_MEASURES[measure]
  const field = opts.field ?? measure
  if (typeof value !== 'number' || !Number.isFinite(value) || value < def.min || value > def.max || (def.integer && !Number.isInteger(value))) {
    throw new ClientError('INVALID_INPUT', `${field}: expected ${def.integer ? 'a whole number' : 'a number'} from ${def.min} to ${def.max} ${def.unitDisplay}`, { field })
  }
  const obs: Observation = { code: def.loinc, value, unit: def.unit }
  if (opts.time !== undefined) obs.time = toMillis(opts.time, `${field}.time`)
  return obs
}

export const stepsObservation = (count: number, time?: TimeInput): Observation => measureObservation('steps', count, { time })
export const distanceObservation = (metres: number, time?: TimeInput): Observation => measureObservation('distance', metres, { time })
export const activeEnergyObservation = (kcal: number, time?: TimeInput): Observation => measureObservation('activeEnergy', kcal, { time })
export const heartRateObservation = (bpm: number, time?: TimeInput): Observation => measureObservation('heartRate', bpm, { time })

export interface HeartRateSample {
  readonly bpm: number
  readonly time: TimeInput
}

/** One period of exercise as the phone measured it. At least one measure. */
export interface ExerciseInput {
  readonly start: TimeInput
  readonly end: TimeInput
  /** Steps in the period. */
  readonly steps?: number
  /** Distance walked or run in the period, in metres. */
  readonly distance?: number
  /** Active energy burned in the period, in kcal. */
  readonly activeEnergy?: number
  /** The mean heart rate over the period, or samples with their times. */
  readonly heartRate?: number | readonly HeartRateSample[]
}

/** Core's exercise plain segment for `input`; INVALID_INPUT naming the field otherwise. */
export function exercisePlain (input: ExerciseInput): ExercisePlain {
  const start = toMillis(input.start, 'start')
  const end = toMillis(input.end, 'end')
  if (end < start) throw new ClientError('INVALID_INPUT', 'end: must not be before start', { field: 'end' })
  const observations: Observation[] = []
  if (input.steps !== undefined) observations.push(measureObservation('steps', input.steps))
  if (input.distance !== undefined) observations.push(measureObservation('distance', input.distance))
  if (input.activeEnergy !== undefined) observations.push(measureObservation('activeEnergy', input.activeEnergy))
  if (typeof input.heartRate === 'number') {
    observations.push(measureObservation('heartRate', input.heartRate))
  } else if (input.heartRate !== undefined) {
    input.heartRate.forEach((s, i) => {
      const time = toMillis(s.time, `heartRate.${i}.time`)
      if (time < start || time > end) throw new ClientError('INVALID_INPUT', `heartRate.${i}.time: outside the period`, { field: `heartRate.${i}.time` })
      observations.push(measureObservation('heartRate', s.bpm, { time, field: `heartRate.${i}.bpm` }))
    })
  }
  if (observations.length === 0) throw new ClientError('INVALID_INPUT', 'an exercise entry needs at least one measure', { field: 'observations' })
  if (observations.length > ENTRY_LIMITS.exerciseObservations) {
    throw new ClientError('INVALID_INPUT', `at most ${ENTRY_LIMITS.exerciseObservations} observations fit one exercise entry`, { field: 'observations' })
  }
  return { start, end, observations }
}
