/**
 * Review of the forwarding node's memory of forwarded exams: what it may
 * hold at most. It is bounded by a count (FORWARDED_EXAMS_KEPT), on the
 * assumption that "an exam is 1–2 KB"; an exam an examiner may send is far
 * larger, and every forwarded exam with an id is kept (a refused one too).
 */
import { describe, expect, it } from 'vitest'
import {
  assembleExam, encodeUnsignedEntry, examPlainSchema, examSealedSchema, MAX_ENTRY_BYTES, seal, type InstitutionId
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { FORWARDED_EXAMS_KEPT } from '../src/services/forwarded-exams.js'

describe('ForwardedExams memory', () => {
  it('holds at most a few batches\' worth of exams (the documented 1–2 KB each), whatever size the exams are', () => {
    // The largest exam the write route takes: every limit of the plain and sealed schemas, within MAX_ENTRY_BYTES.
    const text = (n: number): string => 'x'.repeat(n)
    const observation = { code: '8480-6', value: text(256) }
    const plain = examPlainSchema.parse({ title: text(200), observations: Array.from({ length: 64 }, () => observation) })
    const sealedInput = examSealedSchema.parse({ notes: text(16 * 1024), observations: Array.from({ length: 200 }, () => observation) })
    const id = crypto.randomBytes(16)
    const { sealed } = seal(sealedInput, [crypto.randomBytes(32), crypto.randomBytes(32)], { chainKey: crypto.randomBytes(32), entryId: id }, crypto)
    const unsigned = assembleExam({ id, author: 'hospital-b' as InstitutionId, reg: 3, plain, sealed })
    const bytes = encodeUnsignedEntry(unsigned).length
    expect(bytes).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    // Each is kept as the entry object, and its encoded body is cached beside it once it was signed (core's `bodies`).
    const worstCase = FORWARDED_EXAMS_KEPT * bytes
    expect(worstCase, `${FORWARDED_EXAMS_KEPT} exams of ${bytes} bytes: ${(worstCase / 2 ** 20).toFixed(0)} MiB`)
      .toBeLessThanOrEqual(FORWARDED_EXAMS_KEPT * 2 * 1024 * 2)
  })
})
