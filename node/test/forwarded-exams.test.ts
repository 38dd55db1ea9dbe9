/**
 * The forwarding node's memory of the exams it sealed to forward: one sealed
 * exam per chain, id and caller's exam, shared by every send of it (also
 * sends that overlap while it is sealed); another exam under the same id
 * never replaces it; a forgotten one is sealed again; the oldest go first,
 * within a count and a byte bound whatever the exams' sizes.
 */
import { describe, expect, it } from 'vitest'
import {
  assembleExam, encodeUnsignedEntry, examPlainSchema, examSealedSchema, MAX_ENTRY_BYTES, seal,
  type ExamPlain, type ExamSealed, type InstitutionId, type UnsignedEntry
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { examDigest, FORWARDED_EXAM_BYTES_KEPT, ForwardedExams } from '../src/services/forwarded-exams.js'

const plain: ExamPlain = { title: 'check-up', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] }
const notes: ExamSealed = { notes: 'fasting' }
const chain = crypto.randomBytes(32)
const digest = examDigest({ plain, sealed: notes })

function sealedExam (id: Uint8Array, examPlain: ExamPlain = plain, sealedInput: ExamSealed = notes): UnsignedEntry {
  const { sealed } = seal(sealedInput, [crypto.randomBytes(32)], { chainKey: chain, entryId: id }, crypto)
  return assembleExam({ id, author: 'hospital-b' as InstitutionId, reg: 3, plain: examPlain, sealed })
}

/** A sealing that counts its calls. */
function sealer (id: Uint8Array): { seal: () => Promise<UnsignedEntry>, calls: () => number } {
  let calls = 0
  return { seal: async () => { calls++; return sealedExam(id) }, calls: () => calls }
}

describe('ForwardedExams', () => {
  it('seals an exam once for all its sends, per chain and id', async () => {
    const memory = new ForwardedExams()
    const id = crypto.randomBytes(16)
    const s = sealer(id)
    const first = await memory.sealedFor(chain, id, digest, s.seal)
    expect(await memory.sealedFor(chain, id, digest, s.seal)).toBe(first)
    expect(s.calls()).toBe(1)
    expect(await memory.sealedFor(crypto.randomBytes(32), id, digest, s.seal), 'another chain').not.toBe(first)
    expect(await memory.sealedFor(chain, crypto.randomBytes(16), digest, s.seal), 'another id').not.toBe(first)
    expect(s.calls()).toBe(3)
  })

  it('shares one sealing between sends that overlap while it runs', async () => {
    const memory = new ForwardedExams()
    const id = crypto.randomBytes(16)
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let calls = 0
    const slow = async (): Promise<UnsignedEntry> => { calls++; await gate; return sealedExam(id) }
    const sends = [memory.sealedFor(chain, id, digest, slow), memory.sealedFor(chain, id, digest, slow)]
    release()
    const [one, two] = await Promise.all(sends)
    expect(one).toBe(two)
    expect(calls).toBe(1)
  })

  it('seals another exam under the same id apart, and keeps the first for its retries', async () => {
    const memory = new ForwardedExams()
    const id = crypto.randomBytes(16)
    const first = await memory.sealedFor(chain, id, digest, sealer(id).seal)
    for (const other of [{ plain, sealed: { notes: 'not fasting' } }, { plain: { ...plain, title: 'other' }, sealed: notes }, { plain }]) {
      const s = sealer(id)
      expect(await memory.sealedFor(chain, id, examDigest(other), s.seal)).not.toBe(first)
      expect(s.calls()).toBe(1)
    }
    expect(await memory.sealedFor(chain, id, digest, sealer(id).seal)).toBe(first)
  })

  it('seals again after forget, and after a sealing that failed', async () => {
    const memory = new ForwardedExams()
    const id = crypto.randomBytes(16)
    const first = await memory.sealedFor(chain, id, digest, sealer(id).seal)
    memory.forget(chain, sealedExam(id)) // not the one kept: nothing changes
    expect(await memory.sealedFor(chain, id, digest, sealer(id).seal)).toBe(first)
    memory.forget(chain, first)
    expect(memory.size).toBe(0)
    const again = await memory.sealedFor(chain, id, digest, sealer(id).seal)
    expect(again).not.toBe(first)

    const failing = crypto.randomBytes(16)
    await expect(memory.sealedFor(chain, failing, digest, async () => { throw new Error('no worker') })).rejects.toThrow('no worker')
    const s = sealer(failing)
    await memory.sealedFor(chain, failing, digest, s.seal)
    expect(s.calls()).toBe(1)
  })

  it('keeps the most recent ones, at most its count', async () => {
    const memory = new ForwardedExams({ count: 3 })
    const ids = Array.from({ length: 5 }, () => crypto.randomBytes(16))
    const kept: UnsignedEntry[] = []
    for (const id of ids) kept.push(await memory.sealedFor(chain, id, digest, sealer(id).seal))
    expect(memory.size).toBe(3)
    const again = await Promise.all(ids.map(async (id) => await memory.sealedFor(chain, id, digest, sealer(id).seal)))
    expect(again.map((exam, i) => exam === kept[i])).toEqual([false, false, true, true, true])
  })

  it('keeps at most its byte bound of exams, whatever their size', async () => {
    // The largest exam the write route takes: every limit of the plain and sealed schemas, within MAX_ENTRY_BYTES.
    const text = (n: number): string => 'x'.repeat(n)
    const observation = { code: '8480-6', value: text(256) }
    const bigPlain = examPlainSchema.parse({ title: text(200), observations: Array.from({ length: 64 }, () => observation) })
    const bigSealed = examSealedSchema.parse({ notes: text(16 * 1024), observations: Array.from({ length: 200 }, () => observation) })
    const bigDigest = examDigest({ plain: bigPlain, sealed: bigSealed })
    const bytes = encodeUnsignedEntry(sealedExam(crypto.randomBytes(16), bigPlain, bigSealed)).byteLength
    expect(bytes).toBeGreaterThan(64 * 1024)
    expect(bytes).toBeLessThanOrEqual(MAX_ENTRY_BYTES)
    const memory = new ForwardedExams()
    for (let i = 0; i < 200; i++) {
      const id = crypto.randomBytes(16)
      await memory.sealedFor(chain, id, bigDigest, async () => sealedExam(id, bigPlain, bigSealed))
      expect(memory.keptBytes).toBeLessThanOrEqual(FORWARDED_EXAM_BYTES_KEPT)
    }
    expect(memory.size).toBe(Math.floor(FORWARDED_EXAM_BYTES_KEPT / bytes))
  })

  it('digests the exam canonically: the order of its fields does not matter', () => {
    const reordered = { observations: plain.observations, title: plain.title } as ExamPlain
    expect(examDigest({ plain: reordered, sealed: notes })).toEqual(digest)
  })
})
