/**
 * The exam codes staff pick from: common LOINC codes with their display
 * names, the UCUM unit(s) a value may be written in (the first is the usual
 * one), and an adult reference range in that first unit. The node checks
 * that a unit is UCUM at all; this table checks, before anything is sent,
 * that it is a unit of *this* measurement (no glucose in mm[Hg]).
 *
 * The first seven entries match the node's query index
 * (node/src/query-index/reference-ranges.ts, which names its sources).
 * The other ranges are the usual adult ones of general laboratory practice;
 * a laboratory's own range, where it differs, is what belongs on its
 * report. A range is written on each observation entered here, so the
 * node's charts mark values outside it.
 */

export interface ExamCode {
  readonly code: string
  readonly display: string
  /** Other words staff search by (abbreviations, common names). */
  readonly aka?: string
  /** UCUM codes this measurement may be written in; the first is the usual one. */
  readonly units: readonly string[]
  /** Adult reference range in units[0]; absent where there is no population range. */
  readonly low?: number
  readonly high?: number
}

const c = (code: string, display: string, units: string[], range: [number?, number?] = [], aka?: string): ExamCode => ({
  code,
  display,
  units,
  ...(range[0] === undefined ? {} : { low: range[0] }),
  ...(range[1] === undefined ? {} : { high: range[1] }),
  ...(aka === undefined ? {} : { aka })
})

export const EXAM_CODES: readonly ExamCode[] = [
  c('8480-6', 'Systolic blood pressure', ['mm[Hg]'], [90, 120], 'bp sbp'),
  c('8462-4', 'Diastolic blood pressure', ['mm[Hg]'], [60, 80], 'bp dbp'),
  c('8867-4', 'Heart rate', ['/min'], [60, 100], 'pulse hr'),
  c('2339-0', 'Glucose [Mass/volume] in Blood', ['mg/dL'], [70, 99], 'sugar'),
  c('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', ['mg/dL'], [undefined, 200], 'total cholesterol'),
  c('39156-5', 'Body mass index (BMI) [Ratio]', ['kg/m2'], [18.5, 25], 'bmi'),
  c('29463-7', 'Body weight', ['kg', 'g', '[lb_av]'], [], 'mass'),
  // Vital signs and body measures
  c('9279-1', 'Respiratory rate', ['/min'], [12, 20], 'breathing rr'),
  c('8310-5', 'Body temperature', ['Cel', '[degF]'], [36.1, 37.2], 'fever temp'),
  c('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry', ['%'], [95, 100], 'spo2 pulse ox'),
  c('8302-2', 'Body height', ['cm', 'm', '[in_i]'], [], 'stature length'),
  c('8280-0', 'Waist circumference at umbilicus by Tape measure', ['cm', '[in_i]'], [], 'waist'),
  // Glucose and diabetes
  c('2345-7', 'Glucose [Mass/volume] in Serum or Plasma', ['mg/dL'], [70, 99], 'sugar'),
  c('1558-6', 'Fasting glucose [Mass/volume] in Serum or Plasma', ['mg/dL'], [70, 99], 'sugar fbg fpg'),
  c('15074-8', 'Glucose [Moles/volume] in Blood', ['mmol/L'], [3.9, 5.5], 'sugar'),
  c('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', ['%'], [4, 5.6], 'hba1c a1c glycated haemoglobin'),
  // Lipids
  c('2085-9', 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', ['mg/dL'], [40, undefined], 'hdl good cholesterol'),
  c('2089-1', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma', ['mg/dL'], [undefined, 100], 'ldl bad cholesterol'),
  c('13457-7', 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation', ['mg/dL'], [undefined, 100], 'ldl calculated'),
  c('2571-8', 'Triglyceride [Mass/volume] in Serum or Plasma', ['mg/dL'], [undefined, 150], 'tg lipids'),
  c('14647-2', 'Cholesterol [Moles/volume] in Serum or Plasma', ['mmol/L'], [undefined, 5.2], 'total cholesterol'),
  // Kidney
  c('2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', ['mg/dL'], [0.6, 1.3], 'kidney renal'),
  c('14682-9', 'Creatinine [Moles/volume] in Serum or Plasma', ['umol/L'], [53, 115], 'kidney renal'),
  c('3094-0', 'Urea nitrogen [Mass/volume] in Serum or Plasma', ['mg/dL'], [7, 20], 'bun kidney'),
  c('33914-3', 'Glomerular filtration rate/1.73 sq M.predicted by Creatinine-based formula (MDRD)', ['mL/min/{1.73_m2}'], [60, undefined], 'egfr gfr kidney'),
  c('3084-1', 'Urate [Mass/volume] in Serum or Plasma', ['mg/dL'], [3.5, 7.2], 'uric acid gout'),
  c('14959-1', 'Microalbumin/Creatinine [Mass Ratio] in Urine', ['mg/g'], [undefined, 30], 'acr albuminuria urine'),
  c('2756-5', 'pH of Urine by Test strip', ['[pH]'], [4.5, 8], 'urine'),
  // Electrolytes and minerals
  c('2951-2', 'Sodium [Moles/volume] in Serum or Plasma', ['mmol/L'], [135, 145], 'na'),
  c('2823-3', 'Potassium [Moles/volume] in Serum or Plasma', ['mmol/L'], [3.5, 5.1], 'k'),
  c('2075-0', 'Chloride [Moles/volume] in Serum or Plasma', ['mmol/L'], [98, 107], 'cl'),
  c('2028-9', 'Carbon dioxide, total [Moles/volume] in Serum or Plasma', ['mmol/L'], [22, 29], 'bicarbonate co2 hco3'),
  c('17861-6', 'Calcium [Mass/volume] in Serum or Plasma', ['mg/dL'], [8.6, 10.3], 'ca'),
  c('2498-4', 'Iron [Mass/volume] in Serum or Plasma', ['ug/dL'], [60, 170], 'fe'),
  c('2276-4', 'Ferritin [Mass/volume] in Serum or Plasma', ['ng/mL'], [15, 300], 'iron stores'),
  // Liver
  c('1742-6', 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', ['U/L'], [7, 56], 'alt sgpt liver'),
  c('1920-8', 'Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma', ['U/L'], [10, 40], 'ast sgot liver'),
  c('6768-6', 'Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma', ['U/L'], [44, 147], 'alp liver bone'),
  c('2324-2', 'Gamma glutamyl transferase [Enzymatic activity/volume] in Serum or Plasma', ['U/L'], [8, 61], 'ggt liver'),
  c('1975-2', 'Bilirubin.total [Mass/volume] in Serum or Plasma', ['mg/dL'], [0.1, 1.2], 'liver jaundice'),
  c('1751-7', 'Albumin [Mass/volume] in Serum or Plasma', ['g/dL'], [3.5, 5], 'protein'),
  c('2885-2', 'Protein [Mass/volume] in Serum or Plasma', ['g/dL'], [6, 8.3], 'total protein'),
  // Blood count
  c('718-7', 'Hemoglobin [Mass/volume] in Blood', ['g/dL'], [12, 17.5], 'hb hgb haemoglobin anaemia'),
  c('4544-3', 'Hematocrit [Volume Fraction] of Blood by Automated count', ['%'], [36, 50], 'hct haematocrit'),
  c('6690-2', 'Leukocytes [#/volume] in Blood by Automated count', ['10*3/uL'], [4.5, 11], 'wbc white cells'),
  c('789-8', 'Erythrocytes [#/volume] in Blood by Automated count', ['10*6/uL'], [4.2, 5.9], 'rbc red cells'),
  c('777-3', 'Platelets [#/volume] in Blood by Automated count', ['10*3/uL'], [150, 400], 'plt thrombocytes'),
  c('787-2', 'MCV [Entitic volume] by Automated count', ['fL'], [80, 100], 'mean corpuscular volume'),
  // Thyroid, inflammation, vitamins, prostate
  c('3016-3', 'Thyrotropin [Units/volume] in Serum or Plasma', ['m[IU]/L'], [0.4, 4], 'tsh thyroid'),
  c('3024-7', 'Thyroxine (T4) free [Mass/volume] in Serum or Plasma', ['ng/dL'], [0.8, 1.8], 'ft4 thyroid'),
  c('1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', ['mg/L'], [undefined, 10], 'crp inflammation'),
  c('62292-8', '25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma', ['ng/mL'], [30, 100], 'vitamin d'),
  c('2132-9', 'Cobalamin (Vitamin B12) [Mass/volume] in Serum or Plasma', ['pg/mL'], [200, 900], 'vitamin b12'),
  c('2857-1', 'Prostate specific Ag [Mass/volume] in Serum or Plasma', ['ng/mL'], [undefined, 4], 'psa prostate')
]

const BY_CODE = new Map(EXAM_CODES.map((e) => [e.code, e]))

export function examCode (code: string): ExamCode | undefined { return BY_CODE.get(code) }

/** A code's display name, or the code itself when the table does not know it. */
export function displayOf (code: string): string { return BY_CODE.get(code)?.display ?? `LOINC ${code}` }

/**
 * Codes whose name, other names or code contain every word of `query`
 * (any case), names that start with the first word first; at most `limit`.
 */
export function searchExamCodes (query: string, limit = 8): ExamCode[] {
  const words = query.toLowerCase().split(/\s+/).filter((w) => w !== '')
  if (words.length === 0) return []
  const hay = (e: ExamCode): string => `${e.display} ${e.aka ?? ''} ${e.code}`.toLowerCase()
  const found = EXAM_CODES.filter((e) => words.every((w) => hay(e).includes(w)))
  const first = words[0]!
  const rank = (e: ExamCode): number => e.display.toLowerCase().startsWith(first) ? 0 : (e.aka ?? '').split(' ').includes(first) ? 1 : 2
  return found.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i).slice(0, limit).map(({ e }) => e)
}

/** Why `unit` may not go with `code`, in words; undefined when it may. UCUM is case-sensitive, so the check is too. */
export function unitProblem (entry: ExamCode, unit: string): string | undefined {
  const u = unit.trim()
  if (u === '') return `Give the unit: ${entry.display} is measured in ${entry.units.join(' or ')}.`
  if (entry.units.includes(u)) return undefined
  const nearly = entry.units.find((x) => x.toLowerCase() === u.toLowerCase())
  if (nearly !== undefined) return `Units are case-sensitive: write ${nearly}, not ${u}.`
  return `${u} is not a unit of ${entry.display} (${entry.code}): use ${entry.units.join(' or ')}.`
}

/** The table's range, when the value is in the unit the range is given in. */
export function rangeOf (entry: ExamCode, unit: string): { low?: number, high?: number } | undefined {
  if (unit !== entry.units[0] || (entry.low === undefined && entry.high === undefined)) return undefined
  return { ...(entry.low === undefined ? {} : { low: entry.low }), ...(entry.high === undefined ? {} : { high: entry.high }) }
}
