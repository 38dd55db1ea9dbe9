/**
 * Reference ranges for common LOINC codes (adults), used to flag a series'
 * values when the author wrote no range of their own. Bounds are inclusive,
 * as FHIR R4's Observation.referenceRange low/high are.
 *
 * Sources:
 * - 8480-6 / 8462-4 blood pressure: 2017 ACC/AHA High Blood Pressure
 *   Guideline — normal below 120/80 mm[Hg]; 90/60 is the usual threshold of
 *   hypotension.
 * - 8867-4 heart rate: American Heart Association, normal resting adult
 *   heart rate 60–100 beats per minute.
 * - 2339-0 glucose: American Diabetes Association, Standards of Care —
 *   normal fasting plasma glucose 70–99 mg/dL.
 * - 2093-3 total cholesterol: NCEP ATP III — "desirable" below 200 mg/dL
 *   (no lower bound).
 * - 39156-5 body mass index: WHO classification — normal 18.5–24.9
 *   (written here as 18.5–25).
 * - 29463-7 body weight: no population range (meaningful only per person).
 *
 * A caller may pass its own range (e.g. for a child, or another lab's
 * method), which takes precedence over everything else.
 */
export interface ReferenceRange {
  /** Lowest value in range (inclusive); absent: no lower bound. */
  readonly low?: number
  /** Highest value in range (inclusive); absent: no upper bound. */
  readonly high?: number
}

export interface ReferenceEntry {
  readonly code: string
  readonly display: string
  readonly unit: string
  /** Absent for measures without a population range (body weight). */
  readonly range?: ReferenceRange
}

export const REFERENCE_RANGES: Readonly<Record<string, ReferenceEntry>> = Object.freeze({
  '8480-6': { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', range: { low: 90, high: 120 } },
  '8462-4': { code: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', range: { low: 60, high: 80 } },
  '8867-4': { code: '8867-4', display: 'Heart rate', unit: '/min', range: { low: 60, high: 100 } },
  '2339-0': { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', range: { low: 70, high: 99 } },
  '2093-3': { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'mg/dL', range: { high: 200 } },
  '39156-5': { code: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: 'kg/m2', range: { low: 18.5, high: 25 } },
  '29463-7': { code: '29463-7', display: 'Body weight', unit: 'kg' }
})

/**
 * The range a value is judged against: the caller's, else the one its
 * author wrote on the observation, else the built-in one — and the built-in
 * one only when the value is in the unit the table gives (a range in mg/dL
 * says nothing about a value in mmol/L).
 */
export function rangeFor (
  code: string, unit: string | null, written: { low: number | null, high: number | null }, override?: ReferenceRange
): ReferenceRange | undefined {
  if (override !== undefined) return override
  if (written.low !== null || written.high !== null) {
    return { ...(written.low === null ? {} : { low: written.low }), ...(written.high === null ? {} : { high: written.high }) }
  }
  const builtIn = REFERENCE_RANGES[code]
  return builtIn !== undefined && builtIn.unit === unit ? builtIn.range : undefined
}

/** Whether `value` lies outside `range` (never, without a range). */
export function outOfRange (value: number, range: ReferenceRange | undefined): boolean {
  if (range === undefined) return false
  return (range.low !== undefined && value < range.low) || (range.high !== undefined && value > range.high)
}
