/**
 * Core observations as FHIR R4 Observation resources (JSON), so what the
 * phone records can be handed to any hospital system as it is. Typed with
 * `@types/fhir`'s R4 definitions.
 *
 * Category: `activity` for every exercise measure (exercise is activity data, not a vital sign);
 * heart rate also carries `vital-signs`, which FHIR's vital-signs profile
 * requires for 8867-4.
 */
import type { CodeableConcept, Observation as FhirObservation, Quantity } from 'fhir/r4.js'
import { LOINC_SYSTEM, UCUM_SYSTEM, type ExercisePlain, type Observation } from '@healthchain/core'
import { EXERCISE_MEASURES, measureOfCode } from './exercise.js'
import { isoOf } from './time.js'

export type { FhirObservation }

export { LOINC_SYSTEM, UCUM_SYSTEM }
export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category'

const ACTIVITY: CodeableConcept = { coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'activity', display: 'Activity' }] }
const VITAL_SIGNS: CodeableConcept = { coding: [{ system: OBSERVATION_CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' }] }

export interface FhirOptions {
  /** Observation.subject, e.g. `{ reference: 'Patient/123' }`; omitted when not given (the chain itself says whose it is). */
  readonly subject?: { readonly reference: string }
  /** Observation.id. */
  readonly id?: string
}

/** The period an observation was made over (an exercise entry's start and end, epoch ms). */
export interface ObservationPeriod {
  readonly start: number
  readonly end: number
}

/** A UCUM quantity; `unit` reads as a person would say it where the SDK knows the unit, else the UCUM code itself. */
function quantity (value: number, unit: string): Quantity {
  const display = Object.values(EXERCISE_MEASURES).find((m) => m.unit === unit)?.unitDisplay ?? unit
  return { value, unit: display, system: UCUM_SYSTEM, code: unit }
}

/**
 * An R4 Observation for one observation of core's shape: status `final`,
 * the LOINC coding (with its display when it is one of the exercise
 * measures), a valueQuantity in UCUM (or valueString for a text value), the
 * reference range, and `effectiveDateTime` when the observation has its own
 * time, else `effectivePeriod`.
 */
export function toFhirObservation (obs: Observation, period: ObservationPeriod, opts: FhirOptions = {}): FhirObservation {
  const measure = measureOfCode(obs.code)
  const display = measure === undefined ? undefined : EXERCISE_MEASURES[measure].display
  const resource: FhirObservation = {
    resourceType: 'Observation',
    status: 'final',
    category: measure === 'heartRate' ? [ACTIVITY, VITAL_SIGNS] : [ACTIVITY],
    code: {
      coding: [{ system: LOINC_SYSTEM, code: obs.code, ...(display === undefined ? {} : { display }) }],
      ...(display === undefined ? {} : { text: display })
    }
  }
  if (opts.id !== undefined) resource.id = opts.id
  if (opts.subject !== undefined) resource.subject = { reference: opts.subject.reference }
  if (obs.time !== undefined) resource.effectiveDateTime = isoOf(obs.time)
  else resource.effectivePeriod = { start: isoOf(period.start), end: isoOf(period.end) }
  if (typeof obs.value === 'number') {
    resource.valueQuantity = obs.unit === undefined ? { value: obs.value } : quantity(obs.value, obs.unit)
  } else {
    resource.valueString = obs.value
  }
  if (obs.low !== undefined || obs.high !== undefined) {
    const bound = (value: number): Quantity => obs.unit === undefined ? { value } : quantity(value, obs.unit)
    resource.referenceRange = [{ ...(obs.low === undefined ? {} : { low: bound(obs.low) }), ...(obs.high === undefined ? {} : { high: bound(obs.high) }) }]
  }
  return resource
}

/** One R4 Observation per observation of an exercise entry, over the entry's period. */
export function exerciseToFhir (plain: ExercisePlain, opts: FhirOptions = {}): FhirObservation[] {
  return plain.observations.map((obs, i) => toFhirObservation(obs, plain, opts.id === undefined ? opts : { ...opts, id: `${opts.id}-${i}` }))
}
