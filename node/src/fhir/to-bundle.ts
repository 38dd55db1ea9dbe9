/**
 * A user's chain as a FHIR R4 Bundle (type collection) of Observations,
 * built from the entry views the caller's role may see (entry-view.ts), so
 * the export can never show more than a read does:
 *
 *   exam plain observations           Observation, category exam
 *   exam sealed observations + notes  only when the view holds them opened
 *                                     (an examiner that is a recipient)
 *   exercise observations             Observation, category activity, effectivePeriod
 *
 * Genesis, consent, erasure and location entries are not clinical
 * observations and are left out (locations are served by the trace and
 * timeline queries instead). Subjects and performers are references by id:
 * `Patient/<user id>` (a pseudonym derived from the user's key) and
 * `Organization/<institution id>`.
 */
import type { Bundle, BundleEntry, Observation, Organization, Patient, Quantity, Reference } from '@medplum/fhirtypes'
import { LOINC_SYSTEM, UCUM_SYSTEM, type ExamSealed, type Observation as ExamObservation } from '@healthchain/core'
import type { EntryView } from '../services/entry-view.js'

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category'
const ENTRY_SYSTEM = 'urn:healthchain:entry'

export function chainToBundle (userId: string, chainKey: string, views: readonly EntryView[], now: Date = new Date()): Bundle {
  const entry: BundleEntry[] = views.flatMap((view) => observationsOf(userId, chainKey, view)).map((resource) => ({ resource }))
  return { resourceType: 'Bundle', type: 'collection', timestamp: now.toISOString(), entry }
}

function observationsOf (userId: string, chainKey: string, view: EntryView): Observation[] {
  if (view.type === 'exam') {
    const plain = view.plain as { observations: ExamObservation[] }
    const opened = view.sealed?.readable === true ? view.sealed.data as ExamSealed : undefined
    const values = [...plain.observations, ...(opened?.observations ?? [])]
    const out = values.map((o, i) => observation(userId, chainKey, view, o, i, 'exam'))
    if (opened?.notes !== undefined && out.length > 0) out[0]!.note = [{ text: opened.notes }]
    return out
  }
  if (view.type === 'exercise') {
    const plain = view.plain as { start: number, end: number, observations: ExamObservation[] }
    return plain.observations.map((o, i) => {
      const { effectiveDateTime: _instant, ...rest } = observation(userId, chainKey, view, o, i, 'activity')
      return { ...rest, effectivePeriod: { start: new Date(plain.start).toISOString(), end: new Date(plain.end).toISOString() } }
    })
  }
  return []
}

function observation (userId: string, chainKey: string, view: EntryView, o: ExamObservation, index: number, category: 'exam' | 'activity'): Observation {
  const performer: Reference<Organization | Patient> = view.author === 'user' ? { reference: `Patient/${userId}` } : { reference: `Organization/${view.author}` }
  return {
    resourceType: 'Observation',
    id: `${view.seq}-${index}`,
    identifier: [{ system: ENTRY_SYSTEM, value: `${chainKey}/${view.seq}/${index}` }],
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category }] }],
    code: { coding: [{ system: LOINC_SYSTEM, code: o.code }] },
    subject: { reference: `Patient/${userId}` },
    performer: [performer],
    effectiveDateTime: new Date(o.time ?? Date.parse(view.time)).toISOString(),
    ...(typeof o.value === 'number' ? { valueQuantity: quantity(o.value, o.unit) } : { valueString: o.value }),
    ...(o.low === undefined && o.high === undefined
      ? {}
      : {
          referenceRange: [{
            ...(o.low === undefined ? {} : { low: quantity(o.low, o.unit) }),
            ...(o.high === undefined ? {} : { high: quantity(o.high, o.unit) })
          }]
        })
  }
}

function quantity (value: number, unit: string | undefined): Quantity {
  return unit === undefined ? { value } : { value, unit, system: UCUM_SYSTEM, code: unit }
}
