/**
 * Whether a unit is a valid UCUM expression, by the U.S. National Library
 * of Medicine's UCUM library (@lhncbc/ucum-lhc, the UCUM table itself): the
 * entry schema only checks a unit's shape (printable ASCII), so `}{` or
 * `bpm` passed, and hospital systems reading the chain later could not
 * convert or compare them. Checked where units enter from outside — an
 * examiner's exam over HTTP and FHIR input — not in the entry model, whose
 * rules stored chains were written under.
 *
 * The library loads its unit table on first use (~40 ms). Answers are
 * cached: a node sees few distinct units.
 */
import { createRequire } from 'node:module'
import { NodeError } from './errors.js'

interface UcumUtils {
  validateUnitString (unit: string, suggest?: boolean): { status: 'valid' | 'invalid' | 'error' }
}

const CACHE_LIMIT = 1024
const verdicts = new Map<string, boolean>()
let utils: UcumUtils | undefined

function ucum (): UcumUtils {
  if (utils === undefined) {
    const lib = createRequire(import.meta.url)('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance (): UcumUtils } }
    utils = lib.UcumLhcUtils.getInstance()
  }
  return utils
}

export function isUcumUnit (unit: string): boolean {
  const known = verdicts.get(unit)
  if (known !== undefined) return known
  let valid: boolean
  try {
    valid = ucum().validateUnitString(unit, false).status === 'valid'
  } catch {
    valid = false
  }
  if (verdicts.size >= CACHE_LIMIT) verdicts.delete(verdicts.keys().next().value!)
  verdicts.set(unit, valid)
  return valid
}

/**
 * Refuses (BAD_REQUEST, naming the field) the first observation of an
 * exam's plain or sealed segment whose unit is not UCUM; `prefix` is where
 * the exam sits in the request (`body.`).
 */
export function checkExamUnits (exam: { readonly plain: { readonly observations: ReadonlyArray<{ readonly unit?: string }> }, readonly sealed?: { readonly observations?: ReadonlyArray<{ readonly unit?: string }> } }, prefix = ''): void {
  const segments = [['plain', exam.plain.observations], ['sealed', exam.sealed?.observations ?? []]] as const
  for (const [segment, observations] of segments) {
    observations.forEach((o, i) => {
      if (o.unit !== undefined && !isUcumUnit(o.unit)) {
        const field = `${prefix}${segment}.observations.${i}.unit`
        throw new NodeError('BAD_REQUEST', `${field}: '${o.unit}' is not a UCUM unit (e.g. mm[Hg], mmol/L, /min, {steps})`, { field })
      }
    })
  }
}
