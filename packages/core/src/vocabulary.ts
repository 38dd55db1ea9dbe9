/**
 * The clinical vocabulary every package shares: FHIR's code-system URLs for
 * LOINC and UCUM, and the exercise measures a phone records (LOINC code,
 * UCUM unit, plausible range). The phone writes these codes and the node's
 * query index sums them, so they are defined once, here.
 *
 * Codes, and why these ones:
 * - steps: 55423-8 "Number of steps in unspecified time Pedometer", unit
 *   `{steps}` — the only LOINC steps term without a fixed window (41950-7 and
 *   41952-3 are 24-hour and weekly aggregates; a phone sample covers any period).
 * - distance: 55430-3 "Walking distance unspecified time Pedometer", unit `m`
 *   — for the same reason: 41953-1 and 41954-9 are 24-hour aggregates (the
 *   query index still counts 41953-1, which other devices send).
 * - active energy: 41981-2 "Calories burned", unit `kcal`.
 * - heart rate: 8867-4 "Heart rate", unit `/min` (also a FHIR vital sign).
 */

/** FHIR's system URL for LOINC codes. */
export const LOINC_SYSTEM = 'http://loinc.org'
/** FHIR's system URL for UCUM units. */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org'

export type ExerciseMeasure = 'steps' | 'distance' | 'activeEnergy' | 'heartRate'

export interface MeasureDefinition {
  readonly loinc: string
  /** LOINC's long common name. */
  readonly display: string
  /** The UCUM code. */
  readonly unit: string
  /** How the unit reads for a person (FHIR's Quantity.unit). */
  readonly unitDisplay: string
  /** Plausible range: anything outside is a sensor or import error. */
  readonly min: number
  readonly max: number
  readonly integer: boolean
}

export const EXERCISE_MEASURES: Readonly<Record<ExerciseMeasure, MeasureDefinition>> = Object.freeze({
  steps: {
    loinc: '55423-8', display: 'Number of steps in unspecified time Pedometer', unit: '{steps}', unitDisplay: 'steps', min: 0, max: 1_000_000, integer: true
  },
  distance: {
    loinc: '55430-3', display: 'Walking distance unspecified time Pedometer', unit: 'm', unitDisplay: 'm', min: 0, max: 1_000_000, integer: false
  },
  activeEnergy: { loinc: '41981-2', display: 'Calories burned', unit: 'kcal', unitDisplay: 'kcal', min: 0, max: 100_000, integer: false },
  heartRate: { loinc: '8867-4', display: 'Heart rate', unit: '/min', unitDisplay: 'beats/minute', min: 1, max: 300, integer: false }
})

/** LOINC 41953-1, "Walking distance 24 hour Pedometer": not written by our phone, but summed as distance when other devices send it. */
export const DISTANCE_24H_LOINC = '41953-1'
