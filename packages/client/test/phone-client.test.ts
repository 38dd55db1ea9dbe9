/**
 * The phone SDK against real nodes on 127.0.0.1 (TCP and WebSockets), with
 * Corestores on disk: a phone syncs and decrypts its own chain and stores
 * nothing of anyone else's; writes made offline land once, in order, after
 * an app restart; the recovery phrase restores everything on a new device;
 * grants let a hospital read the history and revocation stops new wrapping;
 * erasure clears data everywhere the custodian serves it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, bytesToHex, fromHex, isRecipient, newRecoveryPhrase, openSealed, openWithDataKey, signEntry, unwrapDataKey, userKeysFromPhrase, type Entry, type LocationPlain } from '@healthchain/core'
import { copyRegistry, enrol, partialRegistry, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'
import { parseGpx, parseStepsCsv, type PhoneClient } from '../src/index.js'
import { crypto, enrolledPhone, openPhone, tcpAddress, tempDir, writeSealedExam } from './helpers.js'
import { storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const TCP_AND_WS = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']
const HOUR = 3_600_000

/** Syncs until the phone has verified `length` blocks (an append reaches a connected phone by live replication a moment after it is acknowledged). */
async function syncUntil (phone: PhoneClient, length: number): Promise<void> {
  await waitFor(async () => (await phone.sync()).verifiedLength >= length, `the phone to verify ${length} blocks`)
}

describe('phone client', () => {
  it('syncs its own chain over WebSockets, verified and decrypted, and stores nothing of another user\'s', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a', { listen: TCP_AND_WS })
    const bob = await enrol(net, 'hospital-a')
    await writeExam(a, net.party('hospital-a'), bob.user, bob.chainKey)

    const phrase = newRecoveryPhrase()
    const phone = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase })
    // Not enrolled and not connected: writing needs the chain, syncing a node to ask.
    await expect(phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 10 })).rejects.toMatchObject({ code: 'NOT_ENROLLED' })
    await expect(phone.sync()).rejects.toMatchObject({ code: 'NOT_CONNECTED' })
    const chainKey = await a.ledger.chainKeyFor(phone.userId)
    await a.enrol(await phone.buildEnrolment('hospital-a', chainKey))
    await expect(phone.sync()).rejects.toMatchObject({ code: 'NOT_CONNECTED' })

    await phone.connect(a.addresses.find((x) => x.includes('/ws'))!)
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'first visit')
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'second visit')
    await syncUntil(phone, 3)

    const timeline = await phone.timeline()
    expect(timeline.map((t) => [t.seq, t.type, t.author])).toEqual([[1, 'exam', 'hospital-a'], [2, 'exam', 'hospital-a']])
    expect(timeline.map((t) => t.sealed?.notes)).toEqual(['first visit', 'second visit'])
    expect((await phone.timeline({ genesis: true }))[0]?.type).toBe('genesis')
    const series = await phone.series('2345-7')
    expect(series.map((p) => [p.value, p.source])).toEqual([[5.1, 'exam-sealed'], [5.1, 'exam-sealed']])

    const status = await phone.status()
    expect(status).toMatchObject({ userId: phone.userId, localLength: 3, verifiedLength: 3, outbox: { pending: 0, failed: 0 }, connectedNodes: [a.peerId] })
    expect(status.lastSync?.verifiedLength).toBe(3)

    // Only the user's own chain is on the device: no record of Bob's, and no block of it.
    const device = phone.peer.ledger
    expect(device.users()).toEqual([phone.userId])
    const bobsCopy = storeOf(device).get({ key: bob.chainKey, active: false })
    await bobsCopy.ready()
    expect(bobsCopy.length).toBe(0)
    await bobsCopy.close()
  })

  it('writes made while the custodian is down land once, in order, after an app restart and the node\'s return', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, dir, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    const user = phone.userId

    await net.stop('hospital-a')
    const start = Date.now() - 3 * HOUR
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const written = await phone.writeExercise({ start: start + i * HOUR, end: start + (i + 1) * HOUR, steps: 1000 + i, heartRate: 80 + i })
      expect(written.entries).toMatchObject([{ type: 'exercise', state: 'queued' }])
      expect(written.flush.stopped?.code).toBe('NOT_CONNECTED')
      ids.push(written.entries[0]!.id)
    }
    expect(phone.pending().map((p) => p.id)).toEqual(ids)

    // The app is closed and started again on the same device directory.
    await phone.close()
    const again = await openPhone(net, cleanup, { dir, phrase })
    expect(bytesToHex(again.chainKey!)).toBe(bytesToHex(chainKey))
    expect((await again.status()).outbox.pending).toBe(3)
    expect(again.pending().map((p) => p.id)).toEqual(ids)
    // Still down: nothing is lost by trying.
    expect((await again.reconnect()).stopped?.code).toBe('NOT_CONNECTED')

    const restarted = await net.start('hospital-a')
    expect(restarted).not.toBe(a)
    const flush = await again.connect(tcpAddress(restarted))
    expect(flush.sent.map((s) => s.id)).toEqual(ids)
    expect(flush.sent.map((s) => s.seq)).toEqual([1, 2, 3])
    expect(flush.pending).toBe(0)
    expect(again.pending()).toEqual([])

    const chain = await restarted.ledger.chain(user)
    const stored = (await chain.read()).map(({ entry }) => entry)
    expect(stored.map((e) => bytesToHex(e.id))).toEqual(ids)
    expect(stored.map((e) => e.type === 'exercise' ? e.plain.observations[0]!.value : undefined)).toEqual([1000, 1001, 1002])

    // A flush with nothing left sends nothing again.
    expect((await again.flush()).sent).toEqual([])
    expect(chain.length).toBe(4)
    await syncUntil(again, 4)
    expect((await again.timeline()).map((t) => t.id)).toEqual(ids)
  })

  it('an entry the custodian appended but the phone never marked is sent again and recognised as a duplicate', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await net.stop('hospital-a')
    const written = await phone.writeLocation([{ lat: 52.52, lon: 13.405, accuracy: 8, time: Date.now() - 60_000 }])
    expect(written.entries[0]?.state).toBe('queued')

    // The custodian got it (say the answer was lost in a crash before the phone recorded it): append the same entry there.
    const [pending] = phone.pending()
    const same = buildUserEntry('location', pending!.plain as LocationPlain, { id: fromHex(pending!.id, 16, 'id'), time: pending!.time }, crypto)
    const chain = await a.ledger.chain(phone.userId)
    await chain.append(signEntry(same, { chainKey, seq: chain.length }, userKeysFromPhrase(phrase, crypto).sign.secretKey, crypto), chain.length)
    expect(chain.length).toBe(2)

    const restarted = await net.start('hospital-a')
    const flush = await phone.connect(tcpAddress(restarted))
    expect(flush.sent).toEqual([{ id: pending!.id, seq: 1, duplicate: true }])
    expect((await restarted.ledger.chain(phone.userId)).length).toBe(2)
    expect(phone.pending()).toEqual([])
  })

  it('the recovery phrase on a fresh device restores the keys, finds the chain, and the history decrypts', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await writeSealedExam(a, net.party('hospital-a'), phone.userId, 'fasting glucose normal')
    await phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 4200, distance: 3100, activeEnergy: 180 })
    await phone.close()

    // A new phone: a new directory and the same phrase, nothing else. The node it connects to names the chain.
    const fresh = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase })
    expect(fresh.userId).toBe(phone.userId)
    expect(fresh.peerId).toBe(phone.peerId)
    expect(fresh.chainKey).toBeUndefined()
    await fresh.connect(tcpAddress(a))
    await syncUntil(fresh, 3)
    expect(bytesToHex(fresh.chainKey!)).toBe(bytesToHex(chainKey))
    expect((await fresh.status()).chainKey).toBe(bytesToHex(chainKey))
    const timeline = await fresh.timeline()
    expect(timeline.map((t) => t.type)).toEqual(['exam', 'exercise'])
    expect(timeline[0]?.sealed?.notes).toBe('fasting glucose normal')
    expect((await fresh.series('55423-8')).map((p) => p.value)).toEqual([4200])

    // Asked again on its own, discovery gives the same chain and the custodian block 0 names.
    const found = await fresh.discoverChain()
    expect(bytesToHex(found.chainKey)).toBe(bytesToHex(chainKey))
    expect(found.custodian).toBe('hospital-a')
  })

  it('a fresh device finds its chain with discoverChain, from a replica too, and writes to it', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await phone.close()
    await waitFor(async () => b.ledger.hasChain(phone.userId) && (await b.ledger.chain(phone.userId)).user !== undefined, 'hospital-b to verify the genesis')

    const fresh = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase, bootstrapPeers: [b.peerId] })
    await expect(fresh.discoverChain()).rejects.toMatchObject({ code: 'NOT_CONNECTED' })
    await fresh.connect(tcpAddress(b))
    const found = await fresh.discoverChain()
    expect(bytesToHex(found.chainKey)).toBe(bytesToHex(chainKey))
    expect(found.custodian).toBe('hospital-a')
    expect(bytesToHex(fresh.chainKey!)).toBe(bytesToHex(chainKey))

    // Recorded: the next sync needs no discovery, and a write reaches the custodian block 0 names.
    expect((await fresh.sync()).verifiedLength).toBeGreaterThanOrEqual(1)
    await fresh.connect(tcpAddress(a))
    const written = await fresh.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 321 })
    expect(written.entries).toMatchObject([{ state: 'sent', seq: 1 }])
    expect((await a.ledger.chain(phone.userId)).length).toBe(2)
  })

  it('a fresh device part-way through the registry (its bootstrap node\'s admission still on its way) finds its chain, and syncs, right after connect', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const { phone, phrase, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    await phone.close()
    await waitFor(async () => b.ledger.hasChain(phone.userId) && (await b.ledger.chain(phone.userId)).user !== undefined, 'hospital-b to verify the genesis')

    // The state the registry passes through as it arrives block by block: hospital-a's admission applied, hospital-b's not yet
    // (from a source that has only those blocks: the phone's light peer would take all of a whole registry at once).
    const part = await partialRegistry(a.ledger, 2, cleanup)
    const partWay = async (): Promise<PhoneClient> => {
      const fresh = await openPhone(net, cleanup, { dir: await tempDir(cleanup), phrase, bootstrapPeers: [b.peerId] })
      const device = fresh.peer.ledger
      await copyRegistry(device, part, 2)
      expect([device.registry.length, device.registry.core.length]).toEqual([2, a.ledger.registry.length])
      expect(device.registry.state.institutionAt('hospital-b')).toBeUndefined()
      return fresh
    }

    const finder = await partWay()
    await finder.connect(tcpAddress(b))
    const found = await finder.discoverChain()
    expect(bytesToHex(found.chainKey)).toBe(bytesToHex(chainKey))
    expect(found.custodian).toBe('hospital-a')

    // The same user's identity: one device connected to hospital-b at a time.
    await finder.close()
    const syncer = await partWay()
    await syncer.connect(tcpAddress(b))
    expect((await syncer.sync()).verifiedLength).toBe(1)
    expect(bytesToHex(syncer.chainKey!)).toBe(bytesToHex(chainKey))
    expect((await syncer.status()).connectedNodes).toEqual([b.peerId])
  })

  it('a grant lets that hospital read the history through re-wrapped keys; after revocation new exams are not sealed for it', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const hospitalB = net.party('hospital-b')
    const { phone, chainKey } = await enrolledPhone(net, cleanup, 'hospital-a')
    const user = phone.userId
    const before = await writeSealedExam(a, net.party('hospital-a'), user, 'before the grant')
    await syncUntil(phone, 2)

    const granted = await phone.grant('hospital-b')
    expect(granted.entries).toMatchObject([{ type: 'consent', state: 'sent', seq: 2 }])

    // hospital-b, as a replica, reads the grant and opens the past exam with the key re-wrapped for it.
    await waitFor(async () => b.ledger.hasChain(user) && (await b.ledger.chain(user)).verifiedLength >= 3, 'hospital-b to replicate the grant')
    const { entries } = await b.read(user)
    const past = entries.find((e) => e.seq === before)!.entry as Entry
    expect(() => openSealed(past.sealed!, hospitalB.keys.box, { chainKey, entryId: past.id }, crypto)).toThrow(expect.objectContaining({ code: 'NOT_RECIPIENT' }))
    const grant = entries.find((e) => e.seq === 2)!.entry
    if (grant.type !== 'consent' || grant.plain.action !== 'grant' || grant.plain.rewrap === undefined) throw new Error('expected a grant with re-wrapped keys')
    const rewrapped = grant.plain.rewrap.keys.find((k) => k.seq === before)!
    const dataKey = unwrapDataKey(rewrapped.wrap, grant.plain.rewrap.epk, hospitalB.keys.box, { chainKey, entryId: past.id }, crypto)
    expect(dataKey).not.toBeNull()
    expect(openWithDataKey(past.sealed!, dataKey!, { chainKey, entryId: past.id }, crypto).notes).toBe('before the grant')

    // While granted, new exams are sealed for hospital-b too.
    const during = await writeSealedExam(a, net.party('hospital-a'), user, 'while granted')
    const duringEntry = (await (await a.ledger.chain(user)).get(during))!
    expect(openSealed(duringEntry.sealed!, hospitalB.keys.box, { chainKey, entryId: duringEntry.id }, crypto).notes).toBe('while granted')

    await syncUntil(phone, 4)
    expect((await phone.revoke('hospital-b')).entries).toMatchObject([{ type: 'consent', state: 'sent', seq: 4 }])
    const after = await writeSealedExam(a, net.party('hospital-a'), user, 'after the revocation')
    const afterEntry = (await (await a.ledger.chain(user)).get(after))!
    expect(isRecipient(afterEntry.sealed!, hospitalB.keys.box.publicKey)).toBe(false)
    expect(isRecipient(afterEntry.sealed!, phone.publicKeys.box)).toBe(true)
    await syncUntil(phone, 6)
    expect((await phone.timeline({ types: ['exam'] })).map((t) => t.sealed?.notes)).toEqual(['before the grant', 'while granted', 'after the revocation'])
  })

  it('a grant until a date, of a long history, and grants to what is not an examiner', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer']], cleanup)
    const a = await net.start('hospital-a')
    const { phone } = await enrolledPhone(net, cleanup, 'hospital-a')
    for (let i = 0; i < 3; i++) await writeSealedExam(a, net.party('hospital-a'), phone.userId, `exam ${i}`)
    await syncUntil(phone, 4)

    await expect(phone.grant('agency')).rejects.toMatchObject({ code: 'NOT_AN_EXAMINER' })
    await expect(phone.grant('hospital-z')).rejects.toMatchObject({ code: 'UNKNOWN_EXAMINER' })
    await expect(phone.grant('Not An Id')).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'examiner' })
    await expect(phone.grant('hospital-b', { until: Date.now() - 1000 })).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'until' })

    const until = Date.now() + 24 * HOUR
    const granted = await phone.grant('hospital-b', { until: new Date(until) })
    expect(granted.entries).toMatchObject([{ state: 'sent', seq: 4 }])
    const grant = (await (await a.ledger.chain(phone.userId)).get(4))!
    expect(grant.type === 'consent' && grant.plain.action === 'grant' ? [grant.plain.until, grant.plain.rewrap?.keys.map((k) => k.seq)] : undefined)
      .toEqual([until, [1, 2, 3]])
  })

  it('erasure: the named entries\' data is cleared at the custodian and on the phone; what cannot be erased is refused', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone } = await enrolledPhone(net, cleanup, 'hospital-a')
    const steps = await phone.writeExercise({ start: Date.now() - HOUR, end: Date.now(), steps: 900 })
    const walk = await phone.writeLocation([
      { lat: 48.1371, lon: 11.5754, accuracy: 5, time: Date.now() - 120_000 },
      { lat: 48.1380, lon: 11.5760, accuracy: 6, time: Date.now() - 60_000 }
    ])
    const grant = await phone.grant('hospital-a')
    expect([steps, walk, grant].map((w) => w.entries[0]?.seq)).toEqual([1, 2, 3])
    await syncUntil(phone, 4)

    await expect(phone.erase([3])).rejects.toMatchObject({ code: 'NOT_ERASABLE' })
    await expect(phone.erase([0])).rejects.toMatchObject({ code: 'INVALID_INPUT', field: 'seqs' })
    const erased = await phone.erase([2])
    expect(erased.entries).toMatchObject([{ type: 'erasure', state: 'sent', seq: 4 }])
    const chain = await a.ledger.chain(phone.userId)
    expect(await chain.get(2)).toBeNull()
    expect(await chain.get(1)).not.toBeNull()

    await syncUntil(phone, 5)
    expect((await phone.timeline()).map((t) => t.type)).toEqual(['exercise', 'consent', 'erasure'])

    // A position the phone cannot check goes to the custodian, which refuses it for good: it leaves the queue, and later writes still go.
    const refused = await phone.erase([99])
    expect(refused.entries).toMatchObject([{ state: 'failed', remoteCode: 'BAD_ERASURE' }])
    expect(phone.failedWrites()).toMatchObject([{ type: 'erasure', code: 'BAD_ERASURE' }])
    expect((await phone.writeExercise({ start: Date.now() - 1000, end: Date.now(), steps: 12 })).entries[0]?.state).toBe('sent')
    await phone.dismissFailed()
    expect(phone.failedWrites()).toEqual([])
  })

  it('a day of movement and steps from GPX and CSV files: location entries of at most 1,000 points, one exercise entry per row', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const { phone } = await enrolledPhone(net, cleanup, 'hospital-a')
    const start = Date.parse('2025-06-01T06:00:00Z')
    const points = Array.from({ length: 2_500 }, (_, i) =>
      `<trkpt lat="${(52.5 + i * 1e-5).toFixed(6)}" lon="13.4"><time>${new Date(start + i * 5_000).toISOString()}</time><hdop>1.5</hdop></trkpt>`)
    const track = parseGpx(`<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Morning</name><trkseg>${points.join('\n')}</trkseg></trk></gpx>`)
    expect(track.points).toHaveLength(2_500)
    const written = await phone.writeLocation(track.points)
    expect(written.entries.map((e) => [e.type, e.state, e.seq])).toEqual([['location', 'sent', 1], ['location', 'sent', 2], ['location', 'sent', 3]])
    const stored = await (await a.ledger.chain(phone.userId)).read()
    expect(stored.map(({ entry }) => entry.type === 'location' ? entry.plain.points.length : 0)).toEqual([1000, 1000, 500])
    const first = stored[0]!.entry
    expect(first.type === 'location' ? first.plain.points[0] : undefined).toEqual({ lat: 52.5, lon: 13.4, acc: 7.5, time: start })

    const rows = parseStepsCsv('start,end,steps,active_energy_kcal\n2025-06-01T06:00:00Z,2025-06-01T07:00:00Z,3400,150\n2025-06-01T07:00:00Z,2025-06-01T08:00:00Z,800,\n')
    const day = await phone.writeExercises(rows)
    expect(day.entries.map((e) => [e.type, e.state, e.seq])).toEqual([['exercise', 'sent', 4], ['exercise', 'sent', 5]])
    await syncUntil(phone, 6)
    expect((await phone.series('55423-8')).map((p) => [p.time, p.value])).toEqual([[Date.parse('2025-06-01T07:00:00Z'), 3400], [Date.parse('2025-06-01T08:00:00Z'), 800]])
  })
})
