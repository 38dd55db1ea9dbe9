/**
 * Exercise measurements as the phone records them, mapped onto core's
 * exercise plain segment `{ start, end, observations: [{ code, value, unit }] }`
 * with LOINC codes and UCUM units (FHIR R4 Observation's vocabulary).
 *
 * The codes, units and plausible ranges are core's vocabulary
 * (EXERCISE_MEASURES); this module turns measurements into observations.
 */
import { ENTRY_LIMITS, EXERCISE_MEASURES, type ExerciseMeasure, type ExercisePlain, type Observation } from '@healthchain/core'
import { ClientError } from './errors.js'
import { toMillis, type TimeInput } from './time.js'

export { EXERCISE_MEASURES, type ExerciseMeasure, type MeasureDefinition } from '@healthchain/core'

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
