/** Each generated person: places, baselines, and the exams and exercise drawn from them. */
import { userIdFromKey, type ExamPlain, type ExercisePlain, type Observation, type UserKeys } from '@healthchain/core'
import { DAY, keysFrom, MINUTE, Rng } from './model.js'
import { CITY, Separated, type Xy } from './geography.js'

export interface Profile {
  readonly index: number
  readonly keys: UserKeys
  readonly home: Xy
  readonly work: Xy
  readonly favourites: readonly [Xy, Xy]
  /** Minutes past each quarter hour this phone samples at. */
  readonly phase: number
  readonly base: {
    sys: number
    dia: number
    hr: number
    glucose: number
    cholesterol: number
    bmi: number
    weight: number
    steps: number
    stride: number
    exerciseHr: number
  }
  /** Day index → exam times that day. */
  readonly exams: Map<number, number[]>
}

export function profileOf (seed: string, index: number, places: Separated, days: number, start: number, examsPerYear: number): Profile {
  const rng = new Rng(seed, 'user', index)
  const party = keysFrom(new Rng(seed, 'user-keys', index))
  const keys: UserKeys = { ...party, userId: userIdFromKey(party.sign.publicKey) }
  const home = places.place(rng, CITY.radius)
  const work = places.place(rng, CITY.radius * 0.45)
  const favourites: [Xy, Xy] = [places.place(rng, CITY.radius * 0.6), places.place(rng, CITY.radius * 0.6)]
  const weight = Math.max(45, rng.normal(76, 14))
  const height = Math.max(1.5, rng.normal(1.72, 0.09))
  const base = {
    sys: rng.normal(121, 13),
    dia: rng.normal(78, 8),
    hr: rng.normal(71, 9),
    glucose: rng.normal(94, 11),
    cholesterol: rng.normal(192, 32),
    bmi: weight / (height * height),
    weight,
    steps: Math.max(2000, rng.normal(8200, 2600)),
    stride: rng.between(0.66, 0.82),
    exerciseHr: rng.normal(112, 12)
  }
  const expected = examsPerYear * days / 365
  const count = Math.max(1, Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0))
  const exams = new Map<number, number[]>()
  for (let i = 0; i < count; i++) {
    const day = rng.int(days)
    const time = start + day * DAY + Math.round(rng.between(8, 16) * 60) * MINUTE
    exams.set(day, [...(exams.get(day) ?? []), time].sort((a, b) => a - b))
  }
  return { index, keys, home, work, favourites, phase: rng.int(15), base, exams }
}

export const round = (v: number, digits = 0): number => Math.round(v * 10 ** digits) / 10 ** digits

export function examPlain (p: Profile, rng: Rng): ExamPlain {
  const observations: Observation[] = []
  // A lab writes its own reference range on about half of its results; one lab's glucose range differs from the textbook's.
  const withRange = (o: Observation, low?: number, high?: number): Observation =>
    rng.chance(0.5) ? { ...o, ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }) } : o
  if (rng.chance(0.95)) {
    observations.push(withRange({ code: '8480-6', value: round(rng.normal(p.base.sys, 8)), unit: 'mm[Hg]' }, 90, 120))
    observations.push(withRange({ code: '8462-4', value: round(rng.normal(p.base.dia, 6)), unit: 'mm[Hg]' }, 60, 80))
  }
  if (rng.chance(0.9)) observations.push(withRange({ code: '8867-4', value: round(rng.normal(p.base.hr, 6)), unit: '/min' }, 60, 100))
  if (rng.chance(0.8)) observations.push(withRange({ code: '2339-0', value: round(rng.normal(p.base.glucose, 9)), unit: 'mg/dL' }, 74, 106))
  if (rng.chance(0.7)) observations.push(withRange({ code: '2093-3', value: round(rng.normal(p.base.cholesterol, 12)), unit: 'mg/dL' }, undefined, 200))
  const weight = rng.normal(p.base.weight, 1.5)
  if (rng.chance(0.85)) observations.push({ code: '39156-5', value: round(p.base.bmi * weight / p.base.weight, 1), unit: 'kg/m2' })
  if (rng.chance(0.85)) {
    observations.push(rng.chance(0.05)
      ? { code: '29463-7', value: round(weight * 2.20462, 1), unit: '[lb_av]' }
      : { code: '29463-7', value: round(weight, 1), unit: 'kg' })
  }
  if (rng.chance(0.15)) observations.push({ code: '8601-7', value: rng.chance(0.9) ? 'sinus rhythm' : 'sinus tachycardia' })
  return { title: rng.chance(0.7) ? 'Annual check-up' : 'Follow-up visit', observations }
}

export function exercisePlain (p: Profile, rng: Rng, dayStart: number): ExercisePlain {
  const start = dayStart + Math.round(rng.between(6, 20) * 60) * MINUTE
  const end = start + Math.round(rng.between(20, 90)) * MINUTE
  const steps = Math.round(Math.min(40_000, Math.max(200, rng.normal(p.base.steps, 2500))))
  const observations: Observation[] = [
    { code: '55423-8', value: steps, unit: '{steps}' },
    { code: '55430-3', value: round(steps * p.base.stride, 1), unit: 'm' },
    { code: '41981-2', value: round(Math.max(0, steps * 0.045 * p.base.weight / 75 + rng.normal(0, 20)), 1), unit: 'kcal' }
  ]
  if (rng.chance(0.8)) observations.push({ code: '8867-4', value: round(rng.normal(p.base.exerciseHr, 8)), unit: '/min' })
  return { start, end, observations }
}

// ---------------------------------------------------------------- tracks
