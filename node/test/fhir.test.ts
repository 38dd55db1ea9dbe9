/**
 * FHIR in and out: hospital Observations and Bundles validated with the R4
 * definitions and mapped onto exam segments (values plain or sealed, notes
 * sealed); malformed or unmappable resources refused with a code naming the
 * element; a chain's entries exported as a Bundle that itself validates,
 * holding sealed values only when the reader's view has them opened.
 */
import { describe, expect, it } from 'vitest'
import type { Bundle, Observation } from '@medplum/fhirtypes'
import { NodeError } from '../src/index.js'
import { chainToBundle } from '../src/fhir/to-bundle.js'
import { examFromFhir } from '../src/fhir/to-exam.js'
import { validateFhir } from '../src/fhir/validate.js'
import type { EntryView } from '../src/services/entry-view.js'

const systolic: Observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }], text: 'Systolic BP' },
  effectiveDateTime: '2026-03-01T09:30:00Z',
  valueQuantity: { value: 132, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  referenceRange: [{ low: { value: 90 }, high: { value: 120 } }],
  note: [{ text: 'patient anxious; repeat in a week' }]
}

const panel: Observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  effectiveDateTime: '2026-03-01T09:30:00Z',
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 128, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 84, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }
  ]
}

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof NodeError ? err.code : `not a NodeError: ${String(err)}`
  }
  return undefined
}

describe('FHIR in', () => {
  it('maps an Observation: LOINC code, UCUM value, reference range, time in the plain segment; notes sealed', () => {
    validateFhir(systolic)
    const exam = examFromFhir(systolic)
    expect(exam.plain).toEqual({ title: 'Systolic BP', observations: [{ code: '8480-6', value: 132, unit: 'mm[Hg]', low: 90, high: 120, time: Date.parse('2026-03-01T09:30:00Z') }] })
    expect(exam.sealed).toEqual({ notes: 'patient anxious; repeat in a week' })
  })

  it('puts the values in the sealed segment when asked, leaving the plain segment without values', () => {
    const exam = examFromFhir(systolic, 'sealed')
    expect(exam.plain.observations).toEqual([])
    expect(exam.sealed.observations).toHaveLength(1)
  })

  it('flattens a panel\'s components, and a Bundle of Observations into one exam', () => {
    expect(examFromFhir(panel).plain.observations.map((o) => [o.code, o.value])).toEqual([['8480-6', 128], ['8462-4', 84]])
    const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: systolic }, { resource: panel }] }
    validateFhir(bundle)
    expect(examFromFhir(bundle).plain.observations.map((o) => o.code)).toEqual(['8480-6', '8480-6', '8462-4'])
  })

  it.each([
    ['not a resource', [1, 2], 'FHIR_INVALID'],
    ['a value of the wrong type', { ...systolic, valueQuantity: { value: 'high' } }, 'FHIR_INVALID'],
    ['a status outside the value set', { ...systolic, status: 'done' }, 'FHIR_INVALID'],
    ['an unknown element', { ...systolic, colour: 'red' }, 'FHIR_INVALID']
  ])('refuses %s (FHIR_INVALID)', (_name, resource, code) => {
    expect(codeOf(() => validateFhir(resource))).toBe(code)
  })

  it.each([
    ['no LOINC coding', { ...systolic, code: { coding: [{ system: 'http://snomed.info/sct', code: '271649006' }] } }],
    ['no value and no components', { resourceType: 'Observation', status: 'final', code: systolic.code } as Observation],
    ['a unit that is not UCUM', { ...systolic, valueQuantity: { value: 1, unit: 'millimetres of mercury' } }],
    ['a unit shaped like UCUM but not in its table', { ...systolic, valueQuantity: { value: 72, unit: 'bpm' } }],
    ['a UCUM code that does not parse', { ...systolic, valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: '}{' } }],
    ['a Patient', { resourceType: 'Patient' }],
    ['a value kind an exam cannot hold (valueRange)', { ...systolic, valueQuantity: undefined, valueRange: { low: { value: 1 }, high: { value: 2 } } }],
    ['a component value an exam cannot hold (valuePeriod)', { ...panel, component: [{ ...panel.component![0]!, valueQuantity: undefined, valuePeriod: { start: '2026-03-01' } }] }],
    ['a top-level value kind an exam cannot hold beside components', { ...panel, valueDateTime: '2026-03-01T09:30:00Z' }],
    ['two reference ranges (only one can be carried)', { ...systolic, referenceRange: [{ low: { value: 90 } }, { low: { value: 100 }, age: { low: { value: 65 } } }] }]
  ])('refuses %s (FHIR_UNSUPPORTED), never dropping data', (_name, resource) => {
    expect(codeOf(() => examFromFhir(resource as Observation))).toBe('FHIR_UNSUPPORTED')
  })

  it.each([
    ['two values of the value[x] choice', { ...systolic, valueString: 'x' }],
    ['a reference range with low above high', { ...systolic, referenceRange: [{ low: { value: 200 }, high: { value: 100 } }] }],
    ['a component range with low above high', { ...panel, component: [{ ...panel.component![0]!, referenceRange: [{ low: { value: 5 }, high: { value: 1 } }] }] }],
    ['an effective period ending before it starts', { ...systolic, effectiveDateTime: undefined, effectivePeriod: { start: '2026-03-02T00:00:00Z', end: '2026-03-01T00:00:00Z' } }]
  ])('refuses %s (FHIR_INVALID), never keeping part of it', (_name, resource) => {
    expect(codeOf(() => examFromFhir(resource as Observation))).toBe('FHIR_INVALID')
  })

  it('a resource nested too deeply to validate is FHIR_INVALID, in words of its own', () => {
    let extension: Record<string, unknown> = { url: 'http://example.org/x', valueString: 'end' }
    for (let i = 0; i < 20_000; i++) extension = { url: 'http://example.org/x', extension: [extension] }
    let err: unknown
    try { validateFhir({ ...systolic, extension: [extension] }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(NodeError)
    expect((err as NodeError).code).toBe('FHIR_INVALID')
    expect((err as NodeError).message).not.toMatch(/call stack/i)
  })
})

describe('FHIR out', () => {
  const exam: EntryView = {
    seq: 1,
    id: 'aa',
    type: 'exam',
    author: 'hospital-a',
    time: '2026-03-01T09:31:00.000Z',
    reg: 5,
    plain: { title: 'BP', observations: [{ code: '8480-6', value: 132, unit: 'mm[Hg]', low: 90, high: 120 }] },
    sealed: { readable: true, data: { observations: [{ code: '2339-0', value: 91, unit: 'mg/dL' }], notes: 'fasting' } }
  }
  const steps: EntryView = {
    seq: 2,
    id: 'bb',
    type: 'exercise',
    author: 'user',
    time: '2026-03-02T20:00:00.000Z',
    plain: { start: Date.parse('2026-03-02T08:00:00Z'), end: Date.parse('2026-03-02T20:00:00Z'), observations: [{ code: '55423-8', value: 9120, unit: '{steps}' }] }
  }

  it('exports a valid Bundle: plain and opened sealed values, notes, exercise periods', () => {
    const bundle = chainToBundle('u'.repeat(32), 'ab'.repeat(32), [exam, steps])
    validateFhir(bundle)
    const observations = bundle.entry!.map((e) => e.resource as Observation)
    expect(observations.map((o) => o.code.coding![0]!.code)).toEqual(['8480-6', '2339-0', '55423-8'])
    expect(observations[0]!.note).toEqual([{ text: 'fasting' }])
    expect(observations[2]!.effectivePeriod?.start).toBe('2026-03-02T08:00:00.000Z')
    expect(observations[2]!.performer).toEqual([{ reference: `Patient/${'u'.repeat(32)}` }])
  })

  it('holds nothing sealed for a view without it opened (an inquirer\'s, or an examiner not a recipient)', () => {
    const withoutSealed: EntryView = { ...exam, sealed: undefined }
    const unreadable: EntryView = { ...exam, sealed: { readable: false } }
    for (const view of [withoutSealed, unreadable]) {
      const text = JSON.stringify(chainToBundle('u'.repeat(32), 'ab'.repeat(32), [view]))
      expect(text).not.toContain('2339-0')
      expect(text).not.toContain('fasting')
    }
  })
})
