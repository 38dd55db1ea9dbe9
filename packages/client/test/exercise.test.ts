/**
 * Exercise measurements: typed builders onto core's exercise segment (LOINC
 * codes, UCUM units, plausible ranges), and FHIR R4 Observations from them.
 */
import { describe, expect, it } from 'vitest'
import { buildUserEntry, parseUnsignedEntry } from '@healthchain/core'
import {
  EXERCISE_MEASURES, activeEnergyObservation, distanceObservation, exercisePlain, exerciseToFhir, heartRateObservation, locationPlains,
  stepsObservation, toFhirObservation, type FhirObservation
} from '../src/index.js'
import { crypto } from './helpers.js'

const start = Date.parse('2025-05-01T06:00:00Z')
const end = Date.parse('2025-05-01T07:00:00Z')

describe('exercise measures', () => {
  it('use LOINC codes and UCUM units, and build core\'s exercise segment', () => {
    expect(stepsObservation(5400)).toEqual({ code: '55423-8', value: 5400, unit: '{steps}' })
    expect(distanceObservation(4100.5)).toEqual({ code: '55430-3', value: 4100.5, unit: 'm' })
    expect(activeEnergyObservation(230)).toEqual({ code: '41981-2', value: 230, unit: 'kcal' })
    expect(heartRateObservation(92, new Date(start))).toEqual({ code: '8867-4', value: 92, unit: '/min', time: start })

    const plain = exercisePlain({
      start: new Date(start),
      end,
      steps: 5400,
      distance: 4100.5,
      activeEnergy: 230,
      heartRate: [{ bpm: 88, time: start + 60_000 }, { bpm: 120, time: start + 1_800_000 }]
    })
    expect(plain).toEqual({
      start,
      end,
      observations: [
        { code: '55423-8', value: 5400, unit: '{steps}' }, { code: '55430-3', value: 4100.5, unit: 'm' }, { code: '41981-2', value: 230, unit: 'kcal' },
        { code: '8867-4', value: 88, unit: '/min', time: start + 60_000 }, { code: '8867-4', value: 120, unit: '/min', time: start + 1_800_000 }
      ]
    })
    // Core accepts it as it is.
    expect(parseUnsignedEntry(buildUserEntry('exercise', plain, {}, crypto)).type).toBe('exercise')
  })

  it('refuse implausible values and periods, naming the field', () => {
    expect(() => stepsObservation(12.5)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'steps' }))
    expect(() => stepsObservation(-1)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'steps' }))
    expect(() => heartRateObservation(0)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'heartRate' }))
    expect(() => distanceObservation(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'distance' }))
    expect(() => exercisePlain({ start: end, end: start, steps: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'end' }))
    expect(() => exercisePlain({ start, end })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'observations' }))
    expect(() => exercisePlain({ start: 0, end, steps: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'start' }))
    expect(() => exercisePlain({ start, end, heartRate: [{ bpm: 80, time: end + 1 }] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'heartRate.0.time' }))
    expect(() => exercisePlain({ start, end, heartRate: [{ bpm: 400, time: end }] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'heartRate.0.bpm' }))
    const many = Array.from({ length: 40 }, (_, i) => ({ bpm: 80, time: start + i }))
    expect(() => exercisePlain({ start, end, heartRate: many })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'observations' }))
  })
})

describe('FHIR R4 Observation', () => {
  it('is a final activity Observation with a LOINC coding, a UCUM quantity and the period', () => {
    const resource: FhirObservation = toFhirObservation(stepsObservation(5400), { start, end }, { subject: { reference: 'Patient/example' }, id: 'steps-1' })
    expect(resource).toEqual({
      resourceType: 'Observation',
      id: 'steps-1',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'activity', display: 'Activity' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '55423-8', display: 'Number of steps in unspecified time Pedometer' }], text: 'Number of steps in unspecified time Pedometer' },
      subject: { reference: 'Patient/example' },
      effectivePeriod: { start: '2025-05-01T06:00:00.000Z', end: '2025-05-01T07:00:00.000Z' },
      valueQuantity: { value: 5400, unit: 'steps', system: 'http://unitsofmeasure.org', code: '{steps}' }
    })
  })

  it('gives heart rate the vital-signs category too, a sample its own time, and keeps a reference range and text values', () => {
    const hr = toFhirObservation(heartRateObservation(92, start + 60_000), { start, end })
    expect(hr.category?.map((c) => c.coding?.[0]?.code)).toEqual(['activity', 'vital-signs'])
    expect(hr.effectiveDateTime).toBe('2025-05-01T06:01:00.000Z')
    expect(hr.effectivePeriod).toBeUndefined()
    expect(hr.valueQuantity).toEqual({ value: 92, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' })

    const other = toFhirObservation({ code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 }, { start, end })
    expect(other.code.coding?.[0]).toEqual({ system: 'http://loinc.org', code: '8480-6' })
    expect(other.referenceRange).toEqual([{ low: { value: 90, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }, high: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }])
    expect(toFhirObservation({ code: '8480-6', value: 'normal' }, { start, end }).valueString).toBe('normal')

    const all = exerciseToFhir(exercisePlain({ start, end, steps: 10, activeEnergy: 5 }), { id: 'x' })
    expect(all.map((o) => [o.id, o.code.coding?.[0]?.code])).toEqual([['x-0', EXERCISE_MEASURES.steps.loinc], ['x-1', EXERCISE_MEASURES.activeEnergy.loinc]])
  })
})

describe('location points', () => {
  it('are validated, sorted by time and split into entries of at most 1,000 points', () => {
    const points = Array.from({ length: 2_001 }, (_, i) => ({ lat: 10, lon: 20, accuracy: 5, time: start + (2_000 - i) * 1000 }))
    const plains = locationPlains(points)
    expect(plains.map((p) => p.points.length)).toEqual([1000, 1000, 1])
    expect(plains[0]!.points[0]).toEqual({ lat: 10, lon: 20, acc: 5, time: start })
    expect(() => locationPlains([])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'points' }))
    expect(() => locationPlains([{ lat: 10, lon: 200, accuracy: 5, time: start }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'points.0.lon' }))
    expect(() => locationPlains([{ lat: 10, lon: 20, accuracy: -1, time: start }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', field: 'points.0.accuracy' }))
  })
})
