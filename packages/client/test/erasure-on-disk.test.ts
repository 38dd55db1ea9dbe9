/**
 * Erasure on disk, on the user's phone: the device's store holds the user's
 * entries twice — in its copy of the chain, and in the outbox (`local/outbox`)
 * that kept them until the custodian acknowledged them. After the user erases
 * them, neither copy leaves a byte in any file of the device directory, nor
 * of the custodian's store — also when the outbox cannot be emptied yet (a
 * refused write is kept there until the user dismisses it).
 *
 * The entries are written offline and the phone restarts before sending, so
 * the outbox's records are in RocksDB's table and blob files, not only in its
 * memtable and log.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildErasure, buildUserEntry } from '@healthchain/core'
import { TestNet, type Cleanup } from '@healthchain/net/testing'
import { doubleMarker, findOnDisk, markerText, missingOnDisk, randomCoordinate, textMarker } from '../../../test/helpers/disk-scan.js'
import { crypto, enrolledPhone, openPhone, tcpAddress } from './helpers.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('erasure on disk, on the phone', () => {
  it('neither the chain copy nor the outbox keeps a byte of the erased entries', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner']], cleanup)
    await net.start('hospital-a')
    const enrolled = await enrolledPhone(net, cleanup, 'hospital-a')
    await enrolled.phone.close()

    // The custodian is down: the entries wait in the outbox, and the phone restarts before it sends them.
    await net.stop('hospital-a')
    let phone = await openPhone(net, cleanup, { dir: enrolled.dir, phrase: enrolled.phrase })
    const move = markerText('EXERCISE')
    const bulky = markerText('BULKY-EXERCISE')
    const lat = randomCoordinate(-80, 80)
    const now = Date.now()
    const exercise = (text: string, count: number): Parameters<typeof phone.writeEntry>[0] =>
      buildUserEntry('exercise', { start: now - 60_000, end: now, observations: Array.from({ length: count }, (_, i) => ({ code: '55423-8', value: `${text} ${i} ${'x'.repeat(count > 1 ? 200 : 0)}` })) }, {}, crypto)
    await phone.writeEntry(exercise(move, 1))
    await phone.writeEntry(exercise(bulky, 24))
    await phone.writeLocation(Array.from({ length: 300 }, (_, i) => ({
      lat: i === 0 ? lat : randomCoordinate(-80, 80), lon: randomCoordinate(-170, 170), accuracy: 5, time: now - 300_000 + i * 1000
    })))
    // The custodian refuses this one for good (it names a position past its own): it stays in the outbox until dismissed.
    await phone.writeEntry(buildErasure([1_000_000], {}, crypto))
    expect(phone.pending()).toHaveLength(4)
    await phone.close()
    phone = await openPhone(net, cleanup, { dir: enrolled.dir, phrase: enrolled.phrase })
    const node = await net.start('hospital-a')

    const sent = await phone.connect(tcpAddress(node))
    expect(sent.sent).toHaveLength(3)
    expect(sent.failed.map((f) => f.code)).toEqual(['BAD_ERASURE'])
    await phone.sync()
    const erased = [textMarker(move), textMarker(bulky), doubleMarker('location', lat)]
    expect(await missingOnDisk(enrolled.dir, erased), 'the control: on the phone before the erasure').toEqual([])

    const erasure = await phone.erase(sent.sent.map((s) => s.seq))
    expect(erasure.entries[0]?.state).toBe('sent')
    const synced = await phone.sync()
    expect(synced.problem).toBeUndefined()
    expect((await phone.timeline()).map((t) => t.type)).toEqual(['erasure'])
    expect(phone.failedWrites().map((f) => f.code)).toEqual(['BAD_ERASURE'])
    await phone.close()
    expect(await findOnDisk(enrolled.dir, erased), 'the phone after the erasure and a close').toEqual([])

    phone = await openPhone(net, cleanup, { dir: enrolled.dir, phrase: enrolled.phrase })
    expect(phone.failedWrites().map((f) => f.code)).toEqual(['BAD_ERASURE'])
    expect(phone.pending()).toEqual([])
    await phone.close()
    expect(await findOnDisk(enrolled.dir, erased), 'the phone after a reopen and a close').toEqual([])

    await net.stop('hospital-a')
    await net.closeLedger('hospital-a')
    expect(await findOnDisk(net.dataDir('hospital-a'), erased), 'the custodian').toEqual([])
  }, 120_000)
})
