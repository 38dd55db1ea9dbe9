/**
 * The measures an analyst can pick, by LOINC code with a name a person
 * reads and the unit the statistics are usually in. The node answers for
 * any code; these are the ones the consortium's examiners and phones write.
 */
export interface Measure {
  readonly code: string
  readonly name: string
  readonly unit: string
}

export const MEASURES: readonly Measure[] = [
  { code: '8480-6', name: 'Systolic blood pressure', unit: 'mmHg' },
  { code: '8462-4', name: 'Diastolic blood pressure', unit: 'mmHg' },
  { code: '8867-4', name: 'Heart rate', unit: 'beats/min' },
  { code: '2339-0', name: 'Blood glucose', unit: 'mg/dL' },
  { code: '2093-3', name: 'Total cholesterol', unit: 'mg/dL' },
  { code: '39156-5', name: 'Body mass index', unit: 'kg/m²' },
  { code: '29463-7', name: 'Body weight', unit: 'kg' },
  { code: '55423-8', name: 'Steps', unit: 'steps' }
]

/** UCUM units as people write them (mm[Hg] → mmHg). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  'mm[Hg]': 'mmHg', '/min': 'beats/min', '{steps}': 'steps', 'kg/m2': 'kg/m²', '{beats}/min': 'beats/min'
}

export function unitWords (unit: string | null | undefined): string {
  if (unit === null || unit === undefined || unit === '') return ''
  return UNIT_WORDS[unit] ?? unit
}

export function measureName (code: string): string {
  return MEASURES.find((m) => m.code === code)?.name ?? `LOINC ${code}`
}
