/** The exam every benchmark writes: about 1.3 KB once sealed for three recipients. */
import type { ExamPlain, ExamSealed } from '@healthchain/core'

export const benchExamPlain: ExamPlain = {
  title: 'Annual check-up',
  observations: [
    { code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 },
    { code: '8462-4', value: 82, unit: 'mm[Hg]', low: 60, high: 80 },
    { code: '29463-7', value: 71.5, unit: 'kg' }
  ]
}

export const benchExamSealed: ExamSealed = {
  observations: [{ code: '2345-7', value: 5.4, unit: 'mmol/L', low: 3.9, high: 5.5 }],
  notes: 'Fasting glucose at the upper end of normal; repeat in six months. '.repeat(9)
}
