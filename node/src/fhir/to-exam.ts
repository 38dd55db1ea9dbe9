/**
 * A FHIR R4 Observation, or a Bundle of them, as one exam entry's segments
 * (what an examiner's hospital system already sends):
 *
 *   Observation.code (the LOINC coding)         → observation.code
 *   valueQuantity (UCUM code, else unit)         → value, unit
 *   valueString / valueCodeableConcept.text /
 *   valueBoolean / valueInteger                  → value (text or number)
 *   component[] (e.g. a blood-pressure panel)    → one observation each
 *   referenceRange[0].low / high                 → low, high
 *   effectiveDateTime / effectivePeriod.start /
 *   issued                                       → time
 *   note[].text                                  → sealed notes (free text is identifying)
 *
 * Where the values go is the caller's choice: `plain` (readable by every
 * role allowed to read the chain, inquirers included) or `sealed` (the
 * user, this examiner and granted examiners only). Anything this mapping
 * cannot carry faithfully is refused (FHIR_UNSUPPORTED), never dropped.
 */
import { ENTRY_LIMITS, LOINC_PATTERN, LOINC_SYSTEM, UCUM_PATTERN, UCUM_SYSTEM, type ExamPlain, type ExamSealed, type Observation as ExamObservation } from '@healthchain/core'
import type { CodeableConcept, Observation, ObservationComponent, Quantity, Resource } from '@medplum/fhirtypes'
import { NodeError } from '../errors.js'
import { isUcumUnit } from '../ucum.js'

export type ValueSegment = 'plain' | 'sealed'

export interface ExamFromFhir {
  readonly plain: ExamPlain
  readonly sealed: ExamSealed
}

export function examFromFhir (resource: Resource, segment: ValueSegment = 'plain'): ExamFromFhir {
  const observations = observationsOf(resource)
  if (observations.length === 0) throw new NodeError('FHIR_UNSUPPORTED', 'expected an Observation, or a Bundle with at least one Observation')
  const values = observations.flatMap((o, i) => valuesOf(o, `${resource.resourceType === 'Bundle' ? `entry[${i}].resource` : 'Observation'}`))
  if (values.length > ENTRY_LIMITS.examObservations) {
    throw new NodeError('FHIR_UNSUPPORTED', `${values.length} values: an exam holds at most ${ENTRY_LIMITS.examObservations}; split the bundle`)
  }
  const notes = observations.flatMap((o) => (o.note ?? []).map((n) => n.text)).filter((t) => t !== '').join('\n')
  const title = titleOf(resource, observations)
  const plain: ExamPlain = { ...(title === undefined ? {} : { title }), observations: segment === 'plain' ? values : [] }
  const sealed: ExamSealed = { ...(segment === 'sealed' ? { observations: values } : {}), ...(notes === '' ? {} : { notes }) }
  return { plain, sealed }
}

function observationsOf (resource: Resource): Observation[] {
  if (resource.resourceType === 'Observation') return [resource]
  if (resource.resourceType !== 'Bundle') throw new NodeError('FHIR_UNSUPPORTED', `a ${resource.resourceType} is not stored as an exam: send an Observation or a Bundle of Observations`)
  const entries = resource.entry ?? []
  const others = entries.filter((e) => e.resource !== undefined && e.resource.resourceType !== 'Observation')
  if (others.length > 0) throw new NodeError('FHIR_UNSUPPORTED', `the bundle holds a ${others[0]!.resource!.resourceType}: only Observations are stored`)
  return entries.flatMap((e) => e.resource === undefined ? [] : [e.resource as Observation])
}

function valuesOf (o: Observation, where: string): ExamObservation[] {
  const time = timeOf(o, where)
  const shared = { ...rangeOf(o.referenceRange, `${where}.referenceRange`), ...(time === undefined ? {} : { time }) }
  if (hasValue(o, where)) return [{ code: loincOf(o.code, `${where}.code`), ...valueOf(o, where), ...shared }]
  if ((o.component ?? []).length === 0) throw new NodeError('FHIR_UNSUPPORTED', `${where}: no value[x] and no component with a value`)
  return o.component!.map((c, i) => {
    const at = `${where}.component[${i}]`
    if (!hasValue(c, at)) throw new NodeError('FHIR_UNSUPPORTED', `${at}: no value[x]`)
    return { code: loincOf(c.code, `${at}.code`), ...valueOf(c, at), ...shared, ...rangeOf(c.referenceRange, `${at}.referenceRange`) }
  })
}

/** Every value[x] of an R4 Observation (and component); the first five are the ones an exam carries. */
const CARRIED_VALUES = ['valueQuantity', 'valueString', 'valueCodeableConcept', 'valueBoolean', 'valueInteger'] as const
const OTHER_VALUES = ['valueRange', 'valueRatio', 'valueSampledData', 'valueTime', 'valueDateTime', 'valuePeriod'] as const

type Valued = Pick<Observation | ObservationComponent, typeof CARRIED_VALUES[number]>

/**
 * Whether `v` has a value this mapping carries. value[x] is a choice (at
 * most one); two, or a kind an exam cannot hold, are refused rather than
 * one of them being kept and the rest dropped.
 */
function hasValue (v: Valued, where: string): boolean {
  const present = [...CARRIED_VALUES, ...OTHER_VALUES].filter((k) => (v as Record<string, unknown>)[k] !== undefined)
  if (present.length > 1) throw new NodeError('FHIR_INVALID', `${where}: value[x] is a choice, but ${present.join(' and ')} are both given`)
  const other = present.find((k) => (OTHER_VALUES as readonly string[]).includes(k))
  if (other !== undefined) throw new NodeError('FHIR_UNSUPPORTED', `${where}.${other}: an exam carries quantities, integers, booleans, text and coded values only`)
  return present.length === 1
}

/** The one reference range an exam observation holds, low ≤ high; several ranges (by age, sex, …) cannot be carried. */
function rangeOf (ranges: Observation['referenceRange'], where: string): Pick<ExamObservation, 'low' | 'high'> {
  if (ranges === undefined || ranges.length === 0) return {}
  if (ranges.length > 1) throw new NodeError('FHIR_UNSUPPORTED', `${where}: ${ranges.length} ranges; an exam observation holds one`)
  const low = ranges[0]!.low?.value
  const high = ranges[0]!.high?.value
  if (low !== undefined && high !== undefined && low > high) throw new NodeError('FHIR_INVALID', `${where}[0]: low (${low}) is above high (${high})`)
  return { ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }) }
}

function valueOf (v: Valued, where: string): Pick<ExamObservation, 'value' | 'unit'> {
  if (v.valueQuantity !== undefined) return quantityOf(v.valueQuantity, `${where}.valueQuantity`)
  if (v.valueInteger !== undefined) return { value: v.valueInteger }
  if (v.valueBoolean !== undefined) return { value: String(v.valueBoolean) }
  if (v.valueString !== undefined) return { value: limitText(v.valueString, `${where}.valueString`) }
  const concept = v.valueCodeableConcept!
  const text = concept.text ?? concept.coding?.[0]?.display ?? concept.coding?.[0]?.code
  if (text === undefined) throw new NodeError('FHIR_UNSUPPORTED', `${where}.valueCodeableConcept: no text, display or code`)
  return { value: limitText(text, `${where}.valueCodeableConcept`) }
}

function quantityOf (q: Quantity, where: string): Pick<ExamObservation, 'value' | 'unit'> {
  if (q.value === undefined) throw new NodeError('FHIR_UNSUPPORTED', `${where}.value: missing`)
  // The UCUM code when the quantity says it is UCUM; the human unit only if it also reads as one.
  const unit = q.system === UCUM_SYSTEM && q.code !== undefined ? q.code : q.unit
  if (unit !== undefined && (!UCUM_PATTERN.test(unit) || unit.length > ENTRY_LIMITS.ucum || !isUcumUnit(unit))) {
    throw new NodeError('FHIR_UNSUPPORTED', `${where}: unit '${unit}' is not a UCUM code (send system ${UCUM_SYSTEM} with code)`)
  }
  return { value: q.value, ...(unit === undefined ? {} : { unit }) }
}

function loincOf (code: CodeableConcept | undefined, where: string): string {
  const coding = code?.coding?.find((c) => c.system === LOINC_SYSTEM && c.code !== undefined && LOINC_PATTERN.test(c.code))
  if (coding === undefined) throw new NodeError('FHIR_UNSUPPORTED', `${where}: no LOINC coding (system ${LOINC_SYSTEM})`)
  return coding.code!
}

function timeOf (o: Observation, where: string): number | undefined {
  const period = o.effectivePeriod
  if (period?.start !== undefined && period.end !== undefined && Date.parse(period.end) < Date.parse(period.start)) {
    throw new NodeError('FHIR_INVALID', `${where}.effectivePeriod: end is before start`)
  }
  const text = o.effectiveDateTime ?? period?.start ?? o.effectiveInstant ?? o.issued
  if (text === undefined) return undefined
  const time = Date.parse(text)
  if (!Number.isFinite(time)) throw new NodeError('FHIR_INVALID', `${where}: the effective time '${text.slice(0, 40)}' is not a date and time`)
  return time
}

function titleOf (resource: Resource, observations: Observation[]): string | undefined {
  const text = resource.resourceType === 'Observation'
    ? resource.code?.text ?? resource.code?.coding?.[0]?.display
    : observations.length === 1 ? observations[0]!.code?.text : undefined
  return text === undefined ? undefined : text.slice(0, ENTRY_LIMITS.title)
}

function limitText (text: string, where: string): string {
  if (text.length > ENTRY_LIMITS.observationText) throw new NodeError('FHIR_UNSUPPORTED', `${where}: text longer than ${ENTRY_LIMITS.observationText} characters`)
  return text
}
