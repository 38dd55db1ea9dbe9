/**
 * The forwarding node's memory of the exams it sealed and forwarded: an
 * exam is given back only for its chain, its id and the very exam the
 * caller sent (plain and sealed parts before sealing); the oldest go first
 * once the memory is full.
 */
import { describe, expect, it } from 'vitest'
import { assembleExam, seal, type ExamPlain, type InstitutionId, type UnsignedEntry } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { examDigest, ForwardedExams } from '../src/services/forwarded-exams.js'

const plain: ExamPlain = { title: 'check-up', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] }

function unsignedExam (): UnsignedEntry {
  const id = crypto.randomBytes(16)
  const { sealed } = seal({ notes: 'fasting' }, [crypto.randomBytes(32)], { chainKey: crypto.randomBytes(32), entryId: id }, crypto)
  return assembleExam({ id, author: 'hospital-b' as InstitutionId, reg: 3, plain, sealed })
}

describe('ForwardedExams', () => {
  const chain = crypto.randomBytes(32)
  const digest = examDigest({ plain, sealed: { notes: 'fasting' } })

  it('gives back an exam for its chain, id and digest only', () => {
    const memory = new ForwardedExams()
    const exam = unsignedExam()
    memory.remember(chain, exam, digest)
    expect(memory.recall(chain, exam.id, digest)).toBe(exam)
    expect(memory.recall(crypto.randomBytes(32), exam.id, digest), 'another chain').toBeUndefined()
    expect(memory.recall(chain, crypto.randomBytes(16), digest), 'another id').toBeUndefined()
    expect(memory.recall(chain, exam.id, examDigest({ plain, sealed: { notes: 'not fasting' } })), 'other sealed content').toBeUndefined()
    expect(memory.recall(chain, exam.id, examDigest({ plain: { ...plain, title: 'other' }, sealed: { notes: 'fasting' } })), 'other plain').toBeUndefined()
    expect(memory.recall(chain, exam.id, examDigest({ plain })), 'no sealed part').toBeUndefined()
  })

  it('keeps the most recent ones, at most its capacity', () => {
    const memory = new ForwardedExams(3)
    const exams = Array.from({ length: 5 }, unsignedExam)
    for (const exam of exams.slice(0, 3)) memory.remember(chain, exam, digest)
    // Remembering one again makes it the most recent.
    memory.remember(chain, exams[0]!, digest)
    for (const exam of exams.slice(3)) memory.remember(chain, exam, digest)
    expect(memory.size).toBe(3)
    expect(exams.map((exam) => memory.recall(chain, exam.id, digest) !== undefined)).toEqual([true, false, false, true, true])
  })

  it('digests the exam canonically: the order of its fields does not matter', () => {
    const reordered = { observations: plain.observations, title: plain.title } as ExamPlain
    expect(examDigest({ plain: reordered, sealed: { notes: 'fasting' } })).toEqual(digest)
  })
})
