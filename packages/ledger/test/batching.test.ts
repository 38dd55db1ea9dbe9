/**
 * The append queue: concurrent requests share Hypercore appends, every one
 * gets its own consecutive position, races for one position have one winner,
 * and a retried entry is recognised instead of written twice.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildUserEntry, newEntryId, type ExercisePlain, type UnsignedEntry } from '@healthchain/core'
import {
  appendUser, crypto, enrol, examEntry, expectCode, makeConsortium, newUser, signAs, signerOf, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

const T0 = Date.UTC(2026, 0, 1)

function exercise (steps: number, id?: Uint8Array): UnsignedEntry {
  const plain: ExercisePlain = { start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: steps, unit: '{steps}' }] }
  return buildUserEntry('exercise', plain, id === undefined ? { time: T0 } : { time: T0, id }, crypto)
}

describe('batched appends', () => {
  it('500 concurrent appendSigned calls get distinct consecutive positions in shared appends, and the chain verifies', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const a = c.institutions.hospitalA
    let appends = 0
    coreOf(chain).on('append', () => { appends++ })

    const exams = Array.from({ length: 500 }, () => examEntry(c.ledger, chain, a))
    const results = await Promise.all(exams.map(async (unsigned) => await chain.appendSigned(unsigned, signerOf(a))))

    expect(results.every((r) => !r.duplicate)).toBe(true)
    expect(results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    expect(chain.length).toBe(501)
    // Batching: far fewer Hypercore appends than entries.
    expect(appends).toBeGreaterThan(0)
    expect(appends).toBeLessThan(50)
    // Each request got the position its own entry landed at.
    for (const i of [0, 137, 499]) {
      const stored = await chain.get(results[i]!.seq)
      expect(stored?.id).toEqual(exams[i]!.id)
    }
    const report = await c.ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, length: 501, verified: 501, problems: [] })
  })

  it('a refused entry inside a batch takes no position; its neighbours close ranks', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const { hospitalA: a, agency } = c.institutions
    const build = (author: typeof a) => {
      const unsigned = examEntry(c.ledger, chain, author)
      return async () => await chain.appendSigned(unsigned, signerOf(author))
    }
    const results = await Promise.allSettled([build(a)(), build(agency)(), build(a)(), build(agency)(), build(a)()])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'])
    expect(results.flatMap((r) => r.status === 'fulfilled' ? [r.value.seq] : [])).toEqual([1, 2, 3])
    expect(results.flatMap((r) => r.status === 'rejected' ? [(r.reason as { code: string }).code] : [])).toEqual(['ROLE_FORBIDDEN', 'ROLE_FORBIDDEN'])
    expect(chain.length).toBe(4)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })

  it('an inconsistent signing key pair fails its own request only, with BAD_KEY', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    const { hospitalA: a, hospitalB: b } = c.institutions
    const unsigned = examEntry(c.ledger, chain, a)
    const mismatched = { publicKey: a.keys.sign.publicKey, secretKey: b.keys.sign.secretKey }
    const results = await Promise.allSettled([
      chain.appendSigned(examEntry(c.ledger, chain, a), mismatched),
      chain.appendSigned(unsigned, signerOf(a))
    ])
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'BAD_KEY' } })
    expect(results[1]).toMatchObject({ status: 'fulfilled', value: { seq: 1, duplicate: false } })
    expect(chain.length).toBe(2)
  })

  it('concurrent user appends signed for the same position: one wins, the other is STALE_POSITION', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    await appendUser(chain, user, exercise(1))
    const seq = chain.length
    const first = signAs(user, exercise(100), chain.key, seq)
    const second = signAs(user, exercise(200), chain.key, seq)

    const results = await Promise.allSettled([chain.append(first, seq), chain.append(second, seq)])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect((won[0] as PromiseFulfilledResult<{ seq: number }>).value.seq).toBe(seq)
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'LedgerError', code: 'STALE_POSITION' })
    expect(chain.length).toBe(seq + 1)
    const winner = results[0].status === 'fulfilled' ? first : second
    expect((await chain.get(seq))?.id).toEqual(winner.id)

    // The loser re-signs for the next position and gets it.
    const loser = winner === first ? second : first
    const resigned = signAs(user, exercise(loser === first ? 100 : 200), chain.key, chain.length)
    expect(await chain.append(resigned, chain.length)).toEqual({ seq: seq + 1, duplicate: false })
    // An entry signed for a position the chain has passed, or not yet reached, is stale too.
    await expectCode(chain.append(signAs(user, exercise(3), chain.key, seq), seq), 'STALE_POSITION')
    await expectCode(chain.append(signAs(user, exercise(4), chain.key, chain.length + 1), chain.length + 1), 'STALE_POSITION')
    expect(chain.length).toBe(seq + 2)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})

describe('idempotent retries', () => {
  it('appending the same signed entry again returns its position with duplicate: true and writes nothing', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const entry = signAs(user, exercise(10), chain.key, 1)
    expect(await chain.append(entry, 1)).toEqual({ seq: 1, duplicate: false })
    await appendUser(chain, user, exercise(11))
    const length = chain.length

    expect(await chain.append(entry, 1)).toEqual({ seq: 1, duplicate: true })
    // Re-signed for a later position after a STALE_POSITION: still the same entry.
    expect(await chain.append(signAs(user, exercise(10, entry.id), chain.key, length), length)).toEqual({ seq: 1, duplicate: true })
    expect(chain.length).toBe(length)

    // Retries racing each other and the original: one write.
    const fresh = signAs(user, exercise(12), chain.key, length)
    const results = await Promise.all([chain.append(fresh, length), chain.append(fresh, length), chain.append(fresh, length)])
    expect(results).toEqual([{ seq: length, duplicate: false }, { seq: length, duplicate: true }, { seq: length, duplicate: true }])
    expect(chain.length).toBe(length + 1)
  })

  it('a custodian retrying appendSigned with the same entry gets the same position', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    const a = c.institutions.hospitalA
    const unsigned = examEntry(c.ledger, chain, a)
    const once = await chain.appendSigned(unsigned, signerOf(a))
    const twice = await chain.appendSigned(unsigned, signerOf(a))
    expect(once).toEqual({ seq: 1, duplicate: false })
    expect(twice).toEqual({ seq: 1, duplicate: true })
    expect(chain.length).toBe(2)
  })

  it('the same id with different content is DUPLICATE_ENTRY, stored or in the same batch', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const id = newEntryId(crypto)
    await chain.append(signAs(user, exercise(10, id), chain.key, 1), 1)
    const length = chain.length
    await expectCode(chain.append(signAs(user, exercise(99, id), chain.key, length), length), 'DUPLICATE_ENTRY')
    expect(chain.length).toBe(length)

    const shared = newEntryId(crypto)
    const results = await Promise.allSettled([
      chain.append(signAs(user, exercise(1, shared), chain.key, length), length),
      chain.append(signAs(user, exercise(2, shared), chain.key, length + 1), length + 1)
    ])
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { seq: length, duplicate: false } })
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'DUPLICATE_ENTRY' } })
    expect(chain.length).toBe(length + 1)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})

describe('a failed write', () => {
  it('rolls back every batch written after it, answers each request with the error, and the chain carries on consistently', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    const a = c.institutions.hospitalA
    const exams = Array.from({ length: 600 }, () => examEntry(c.ledger, chain, a))
    // A disk error on the first Hypercore append (fault injection on the real core).
    const core = coreOf(chain)
    const append = core.append.bind(core)
    let calls = 0
    core.append = (async (...args: Parameters<typeof append>) => {
      if (calls++ === 0) throw new Error('disk full')
      return await append(...args)
    }) as typeof core.append
    const results = await Promise.allSettled(exams.map(async (u) => await chain.appendSigned(u, signerOf(a))))
    const failed = results.filter((r) => r.status === 'rejected')
    // The first batch failed; the batches prepared behind it were rolled back with it.
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((r) => (r as PromiseRejectedResult).reason.message === 'disk full')).toBe(true)
    const written = results.flatMap((r) => r.status === 'fulfilled' ? [r.value.seq] : [])
    expect(written).toEqual(Array.from({ length: written.length }, (_, i) => i + 1))
    expect(chain.length).toBe(1 + written.length)
    // The first request was in the failed batch; the rules forgot the rolled-back entries, so retries land at the next positions.
    expect(results[0]!.status).toBe('rejected')
    const again = exams.filter((_, i) => results[i]!.status === 'rejected').slice(0, 3)
    const length = chain.length
    const retried = await Promise.all(again.map(async (u) => await chain.appendSigned(u, signerOf(a))))
    expect(retried).toEqual([length, length + 1, length + 2].map((seq) => ({ seq, duplicate: false })))
    expect((await c.ledger.verify(chain.userId!)).valid).toBe(true)
  })
})

describe('a retry in the same batch as its original', () => {
  it('is answered only after the original is written: if that write fails, the retry gets the failure, not "duplicate"', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    const a = c.institutions.hospitalA
    const unsigned = examEntry(c.ledger, chain, a)
    const core = coreOf(chain)
    const append = core.append.bind(core)
    let calls = 0
    core.append = (async (...args: Parameters<typeof append>) => {
      if (calls++ === 0) throw new Error('disk full')
      return await append(...args)
    }) as typeof core.append
    const [original, retry] = await Promise.allSettled([chain.appendSigned(unsigned, signerOf(a)), chain.appendSigned(unsigned, signerOf(a))])
    expect(original).toMatchObject({ status: 'rejected', reason: { message: 'disk full' } })
    expect(retry.status).toBe('rejected')
    expect(chain.length).toBe(1)
    // Once the disk is back, the entry lands once, and its retry is then a duplicate.
    expect(await chain.appendSigned(unsigned, signerOf(a))).toEqual({ seq: 1, duplicate: false })
    expect(await chain.appendSigned(unsigned, signerOf(a))).toEqual({ seq: 1, duplicate: true })
  })
})
