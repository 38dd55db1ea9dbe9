/**
 * Words for what the chain holds: entry types, measurement names (LOINC
 * codes), units (UCUM) as a person reads them.
 */
import { EXERCISE_MEASURES, type Observation } from '@healthchain/core'
import { REFERENCE_RANGES } from '@healthchain/node/api'
import type { CheckedEntry } from './chain-check.js'

const NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.values(REFERENCE_RANGES).map((r) => [r.code, r.display])),
  '8480-6': 'Systolic blood pressure',
  '8462-4': 'Diastolic blood pressure',
  '8867-4': 'Heart rate',
  '2339-0': 'Blood glucose',
  '2093-3': 'Total cholesterol',
  '39156-5': 'Body mass index',
  '29463-7': 'Body weight',
  '8302-2': 'Body height',
  '718-7': 'Haemoglobin',
  '4548-4': 'HbA1c',
  [EXERCISE_MEASURES.steps.loinc]: 'Steps',
  [EXERCISE_MEASURES.distance.loinc]: 'Distance',
  [EXERCISE_MEASURES.activeEnergy.loinc]: 'Active energy'
}

const UNITS: Record<string, string> = {
  'mm[Hg]': 'mmHg', '/min': 'beats/min', '{steps}': 'steps', 'kg/m2': 'kg/m²', kcal: 'kcal', m: 'm', 'mg/dL': 'mg/dL', '%': '%'
}

export function measureName (code: string): string { return NAMES[code] ?? `Measurement ${code}` }

export function unitWords (unit: string | undefined): string { return unit === undefined ? '' : UNITS[unit] ?? unit }

export function observationText (o: Observation): string {
  const unit = unitWords(o.unit)
  return `${String(o.value)}${unit === '' ? '' : ` ${unit}`}`
}

/** The entry's kind in words: "Exam at hospital-b", "Exercise", "Places", "Consent: grant to hospital-b"… */
export function entryTitle (e: CheckedEntry): string {
  const entry = e.entry
  switch (e.view.type) {
    case 'genesis': return `Record started at ${e.view.plain !== null && typeof e.view.plain === 'object' ? String((e.view.plain as { custodian?: unknown }).custodian ?? '') : ''}`
    case 'exam': return `Exam at ${e.view.author}`
    case 'exercise': return 'Exercise'
    case 'location': return 'Places'
    case 'consent':
      if (entry?.type === 'consent') {
        return entry.plain.action === 'grant' ? `Consent: ${entry.plain.examiner} may read sealed results` : `Consent withdrawn from ${entry.plain.examiner}`
      }
      return 'Consent'
    case 'erasure': return entry?.type === 'erasure' ? `Erasure of ${entry.plain.entries.length === 1 ? 'entry' : 'entries'} #${entry.plain.entries.join(', #')}` : 'Erasure'
    case 'migrate':
      if (entry?.type !== 'migrate') return 'Moved'
      // The user signs a move they chose; an institution writes one only under a governance reassignment (the chain rules check it).
      return entry.author === 'user' ? `Moved to ${entry.plain.to}, by you` : `Moved to ${entry.plain.to}, by ${entry.author} under a governance reassignment`
    case 'rekey': return entry?.type === 'rekey' ? `Keys renewed (generation ${entry.plain.generation})` : 'Keys renewed'
  }
}
