/**
 * A phone rotating the user's keys, against a real node on 127.0.0.1: the
 * rekey lands at the custodian, the phone's later writes are signed with
 * the new key and verify, the whole history still reads (exams sealed to
 * the old box key and to the new one), and the generation is the chain's
 * after an app restart. Without the custodian a rotation changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { openWithDataKey, unwrapDataKey, userKeysFromPhrase } from '@healthchain/core'
import { TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'
import type { PhoneClient } from '../src/index.js'
import { crypto, enrolledPhone, openPhone, tcpAddress, writeSealedExam } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const HOUR = 3_600_000

async function syncUntil (phone: PhoneClient, length: number): Promise<void> {
  await waitFor(async () => (await phone.sync()).verifiedLength >= length, `the phone to verify ${length} blocks`)
}

describe('phone key rotation', () => {
  it('rotates, then signs with the new key, reads its whole history, and keeps the generation across a restart', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, dir } = await enrolledPhone(net, cleanup, 'hospital-a')
    const user = phone.userId
    await writeSealedExam(a, net.party('hospital-a'), user, 'before the rotation')
    await syncUntil(phone, 2)
    expect(phone.generation).toBe(0)

    const rotated = await phone.rotate()
    expect(rotated).toEqual({ generation: 1, seq: 2 })
    expect(phone.generation).toBe(1)
    const held = (await a.ledger.chain(user)).user!
    expect(held.generation).toBe(1)
    expect(held.sign).toEqual(userKeysFromPhrase(phrase, crypto, 1).sign.publicKey)
    await expect(phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 10 })).resolves.toMatchObject({ entries: [{ state: 'sent', seq: 3 }] })
    await writeSealedExam(a, net.party('hospital-a'), user, 'after the rotation')
    await syncUntil(phone, 5)
    const timeline = await phone.timeline()
    expect(timeline.map((t) => [t.seq, t.type])).toEqual([[1, 'exam'], [2, 'rekey'], [3, 'exercise'], [4, 'exam']])
    expect(timeline.filter((t) => t.type === 'exam').map((t) => t.sealed?.notes)).toEqual(['before the rotation', 'after the rotation'])
    expect((await a.ledger.verify(user)).problems).toEqual([])
    expect((await phone.status()).custody).toMatchObject({ custodian: 'hospital-a', generation: 1 })

    // A grant re-wraps the data keys of both exams, each recovered with the box key it was sealed to.
    const granted = await phone.grant('hospital-b')
    const grant = (await (await a.ledger.chain(user)).get(granted.entries[0]!.seq!))!
    if (grant.type !== 'consent' || grant.plain.action !== 'grant' || grant.plain.rewrap === undefined) throw new Error('expected a grant with re-wrapped keys')
    expect(grant.plain.rewrap.keys.map((k) => k.seq)).toEqual([1, 4])
    const chainKey = phone.chainKey!
    for (const { seq, wrap } of grant.plain.rewrap.keys) {
      const exam = (await (await a.ledger.chain(user)).get(seq))!
      const dataKey = unwrapDataKey(wrap, grant.plain.rewrap.epk, net.party('hospital-b').keys.box, { chainKey, entryId: exam.id }, crypto)
      expect(openWithDataKey(exam.sealed!, dataKey!, { chainKey, entryId: exam.id }, crypto).notes).toMatch(/the rotation$/)
    }

    // The generation is not stored: a reopened device derives it from the chain, and signs with generation 1's key.
    await phone.close()
    const again = await openPhone(net, cleanup, { dir, phrase })
    expect(again.generation).toBe(1)
    await again.connect(tcpAddress(a))
    await expect(again.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 20 })).resolves.toMatchObject({ entries: [{ state: 'sent', seq: 6 }] })
    // A second rotation reveals generation 2's keys, which the first rekey committed to.
    expect((await again.rotate()).generation).toBe(2)
    expect((await a.ledger.verify(user)).problems).toEqual([])
  })

  it('without the custodian a rotation is refused and changes nothing; once it is back, queued writes go first, then the rekey', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    await net.start('hospital-a')
    const { phone } = await enrolledPhone(net, cleanup, 'hospital-a')
    await net.stop('hospital-a')
    await phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 30 })
    await expect(phone.rotate()).rejects.toMatchObject({ code: 'NOT_CONNECTED' })
    expect(phone.generation).toBe(0)
    expect(phone.pending()).toHaveLength(1)

    const a = await net.start('hospital-a')
    await phone.connect(tcpAddress(a))
    expect(await phone.rotate()).toEqual({ generation: 1, seq: 2 })
    expect(phone.pending()).toEqual([])
    expect((await phone.timeline()).map((t) => [t.seq, t.type])).toEqual([[1, 'exercise'], [2, 'rekey']])
    expect((await a.ledger.verify(phone.userId)).problems).toEqual([])
  })
})
