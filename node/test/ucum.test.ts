/** Units checked against the UCUM table (the NLM's ucum-lhc), where units enter from outside: exams over HTTP and FHIR. */
import { describe, expect, it } from 'vitest'
import { NodeError } from '../src/index.js'
import { checkExamUnits, isUcumUnit } from '../src/ucum.js'

describe('UCUM units', () => {
  it('accepts the units the project and hospital systems use, and refuses look-alikes', () => {
    for (const unit of ['mm[Hg]', 'mmol/L', 'mg/dL', 'kg', 'kg/m2', '/min', '{steps}', 'kcal', 'kJ', 'm', 'km', '%', '10*9/L']) expect(isUcumUnit(unit), unit).toBe(true)
    for (const unit of ['bpm', 'mmHg', 'steps', '}{', 'mm Hg', '']) expect(isUcumUnit(unit), unit).toBe(false)
    // Cached answers are the same answers.
    expect(isUcumUnit('bpm')).toBe(false)
    expect(isUcumUnit('mm[Hg]')).toBe(true)
  })

  it('names the first observation whose unit is not UCUM, in the plain or the sealed segment', () => {
    const at = (exam: Parameters<typeof checkExamUnits>[0]): string | undefined => {
      try { checkExamUnits(exam, 'body.') } catch (err) { return err instanceof NodeError && err.code === 'BAD_REQUEST' ? err.field : 'unexpected' }
      return undefined
    }
    expect(at({ plain: { observations: [{ unit: 'mm[Hg]' }, {}] }, sealed: { observations: [{ unit: 'mmol/L' }] } })).toBeUndefined()
    expect(at({ plain: { observations: [{ unit: 'mm[Hg]' }, { unit: 'bpm' }] } })).toBe('body.plain.observations.1.unit')
    expect(at({ plain: { observations: [] }, sealed: { observations: [{ unit: '}{' }] } })).toBe('body.sealed.observations.0.unit')
  })
})
