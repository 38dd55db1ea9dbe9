/**
 * A phone across a custody transfer, against real nodes on 127.0.0.1: the
 * phone moves its chain from hospital-a to hospital-b and keeps syncing and
 * writing; a phone whose chain someone else moved (the ledger's API at the
 * new custodian, as the CLI does) follows on its next sync and sends what it
 * queued meanwhile, re-signed for the new chain; a phone that has not heard
 * of a move never takes what the old custodian, cut off, appends to the old
 * chain after it; a transfer to an inquirer or to a suspended examiner is
 * refused on the device, nothing changed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildMigrate, buildUserEntry, bytesToHex, newRecoveryPhrase, openWithDataKey, signEntry, unwrapDataKey, userKeysFromPhrase
} from '@healthchain/core'
import { converged, TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'
import type { PhoneClient } from '../src/index.js'
import { crypto, enrolledPhone, openPhone, tcpAddress, tempDir, writeSealedExam } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const HOUR = 3_600_000

async function syncUntil (phone: PhoneClient, length: number): Promise<void> {
  await waitFor(async () => (await phone.sync()).verifiedLength >= length, `the phone to verify ${length} blocks`)
}

describe('phone custody transfer', () => {
  it('moves its chain from hospital-a to hospital-b, then keeps syncing and writing there', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    await net.meshed()
    const { phone, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'before the move')
    await phone.writeExercise({ start: Date.now() - 2 * HOUR, end: Date.now() - HOUR, steps: 4000 })
    await syncUntil(phone, 3)
    await converged([a, b], phone.userId, 3, 'hospital-b to replicate the chain')
    await phone.connect(tcpAddress(b))

    const moved = await phone.transfer('hospital-b')
    expect(moved).toMatchObject({ length: 3, custodian: 'hospital-b' })
    expect(bytesToHex(moved.from)).toBe(bytesToHex(chainKey))
    expect(bytesToHex(phone.chainKey!)).toBe(bytesToHex(moved.chainKey))
    expect(bytesToHex((await b.ledger.chain(phone.userId)).key)).toBe(bytesToHex(moved.chainKey))
    expect(b.ledger.closedChain(chainKey)).toMatchObject({ user: phone.userId, length: 3 })

    // The device's own copy is the continuation, verified through the migrate; the history before it still reads.
    const status = await phone.status()
    expect(status).toMatchObject({ chainKey: bytesToHex(moved.chainKey), verifiedLength: 4 })
    const written = await phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 5000 })
    expect(written.entries).toMatchObject([{ state: 'sent', seq: 4 }])
    await writeSealedExam(b, net.party('hospital-b'), phone.userId, 'after the move')
    await syncUntil(phone, 6)
    const timeline = await phone.timeline()
    expect(timeline.map((t) => [t.seq, t.type, t.author])).toEqual([
      [1, 'exam', 'hospital-a'], [2, 'exercise', 'user'], [3, 'migrate', 'user'], [4, 'exercise', 'user'], [5, 'exam', 'hospital-b']
    ])
    expect(timeline.filter((t) => t.type === 'exam').map((t) => t.sealed?.notes)).toEqual(['before the move', 'after the move'])
    expect((await b.ledger.verify(phone.userId)).problems).toEqual([])

    // A grant re-wraps each exam's data key bound to the key of the core it was written in, as its seal is.
    const granted = await phone.grant('hospital-c')
    const chain = await b.ledger.chain(phone.userId)
    const grant = (await chain.get(granted.entries[0]!.seq!))!
    if (grant.type !== 'consent' || grant.plain.action !== 'grant' || grant.plain.rewrap === undefined) throw new Error('expected a grant with re-wrapped keys')
    expect(grant.plain.rewrap.keys.map((k) => k.seq)).toEqual([1, 5])
    for (const { seq, wrap } of grant.plain.rewrap.keys) {
      const exam = (await chain.get(seq))!
      const ctx = { chainKey: chain.keyAt(seq), entryId: exam.id }
      const dataKey = unwrapDataKey(wrap, grant.plain.rewrap.epk, net.party('hospital-c').keys.box, ctx, crypto)
      expect(openWithDataKey(exam.sealed!, dataKey!, ctx, crypto).notes).toMatch(/the move$/)
    }
  })

  it('follows a move someone else made on its next sync, and sends what it queued meanwhile signed for the new chain', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    await net.meshed()
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'at hospital-a')
    await syncUntil(phone, 2)
    await converged([a, b], phone.userId, 2, 'hospital-b to replicate the chain')

    // The user moves the chain from another device, through hospital-b's ledger (as `healthchain user transfer` does).
    const user = userKeysFromPhrase(phrase, crypto)
    const offer = await b.ledger.offerContinuation(user.userId)
    const migrate = signEntry(buildMigrate(offer.plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, user.sign.secretKey, crypto)
    await b.ledger.continueChain(user.userId, migrate)
    await net.stop('hospital-a')

    // Written while the phone still knows the old chain and its custodian is away: queued.
    const queued = await phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 1234 })
    expect(queued.entries[0]?.state).toBe('queued')
    expect(bytesToHex(phone.chainKey!)).toBe(bytesToHex(chainKey))

    await phone.connect(tcpAddress(b))
    const report = await phone.sync()
    expect(bytesToHex(phone.chainKey!)).toBe(bytesToHex(offer.key))
    expect(report.flush.sent.map((s) => s.seq)).toEqual([3])
    await syncUntil(phone, 4)
    expect((await phone.timeline()).map((t) => [t.seq, t.type])).toEqual([[1, 'exam'], [2, 'migrate'], [3, 'exercise']])
    expect(phone.pending()).toEqual([])
    expect((await b.ledger.verify(user.userId)).problems).toEqual([])
  })

  it('never takes what the old custodian, cut off from the move, appends to the old chain; it follows the move once a witness is back', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    await net.start('regulator')
    await net.meshed()
    // The default quorum: a majority of the registry's one regulator, whose address the phone knows as an app would.
    const phrase = newRecoveryPhrase()
    const phone = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase })
    const chainKey = await a.ledger.chainKeyFor(phone.userId)
    await a.enrol(await phone.buildEnrolment('hospital-a', chainKey))
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'before the move')
    await converged([a, b, net.node('regulator')], phone.userId, 2, 'the chain at hospital-b and the regulator')
    await phone.rememberNodes([tcpAddress(net.node('regulator'))])
    await phone.connect(tcpAddress(a))
    await syncUntil(phone, 2)

    // hospital-a is away while the user moves the chain to hospital-b from another device; the regulator follows.
    await net.stop('hospital-a')
    const user = userKeysFromPhrase(phrase, crypto)
    const offer = await b.ledger.offerContinuation(user.userId)
    const migrate = signEntry(buildMigrate(offer.plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, user.sign.secretKey, crypto)
    await b.ledger.continueChain(user.userId, migrate)
    await waitFor(async () => bytesToHex((await net.node('regulator').ledger.chain(user.userId)).key) === bytesToHex(offer.key), 'the regulator to follow the move')

    // hospital-a comes back cut off from everyone and, knowing nothing of the move, appends to the old chain.
    await net.stop('regulator')
    await net.stop('hospital-b')
    const cutOff = await net.start('hospital-a', {}, [])
    const old = await cutOff.ledger.chain(user.userId)
    expect(bytesToHex(old.key)).toBe(bytesToHex(chainKey))
    const steps = { start: Date.now() - HOUR, end: Date.now(), observations: [{ code: '55423-8', value: 999, unit: '{steps}' }] }
    const rogue = signEntry(buildUserEntry('exercise', steps, {}, crypto), { chainKey, seq: 2 }, user.sign.secretKey, crypto)
    await old.append(rogue, 2)
    expect(old.length).toBe(3)

    // The phone, with only hospital-a to talk to, gets no witness for that head and keeps what it had.
    await phone.connect(tcpAddress(cutOff))
    await expect(phone.sync()).rejects.toMatchObject({ code: 'NO_QUORUM' })
    expect(bytesToHex(phone.chainKey!)).toBe(bytesToHex(chainKey))
    expect((await phone.timeline()).map((t) => [t.seq, t.type])).toEqual([[1, 'exam']])

    // The regulator back: the phone learns of the move and follows it; the old custodian's block is in nothing it shows.
    const regulator = await net.start('regulator', {}, ['hospital-a'])
    await phone.rememberNodes([tcpAddress(regulator)])
    await waitFor(async () => {
      await phone.sync().catch(() => undefined)
      return bytesToHex(phone.chainKey!) === bytesToHex(offer.key)
    }, 'the phone to follow the move')
    expect((await phone.timeline()).map((t) => [t.seq, t.type, t.author])).toEqual([[1, 'exam', 'hospital-a'], [2, 'migrate', 'user']])
    expect((await phone.status()).verifiedLength).toBe(3)
  }, 90_000)

  it('refuses a transfer to an inquirer or to a suspended examiner, and changes nothing on the device', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['agency-q', 'inquirer'], ['hospital-c', 'examiner']], cleanup)
    await net.start('hospital-a')
    const { phone, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await net.setStatus('hospital-c', 'suspend')
    await waitFor(async () => { await phone.sync(); return phone.peer.ledger.registry.state.institutionAt('hospital-c')?.status === 'suspended' }, 'the suspension to reach the phone')
    const before = await phone.status()

    await expect(phone.transfer('agency-q')).rejects.toMatchObject({ code: 'NOT_AN_EXAMINER', field: 'examiner' })
    await expect(phone.transfer('hospital-c')).rejects.toMatchObject({ code: 'NOT_AN_EXAMINER', field: 'examiner' })
    await expect(phone.transfer('hospital-z')).rejects.toMatchObject({ code: 'UNKNOWN_EXAMINER' })
    await expect(phone.transfer('hospital-a')).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'to' })
    expect(bytesToHex(phone.chainKey!)).toBe(bytesToHex(chainKey))
    const after = await phone.status()
    expect({ ...after, lastSync: undefined }).toEqual({ ...before, lastSync: undefined })
  })
})
