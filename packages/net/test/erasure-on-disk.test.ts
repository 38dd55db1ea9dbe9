/**
 * Erasure on disk, across the network: replicas that received a chain over
 * libp2p, and then the user's erasure, keep no byte of the erased entries in
 * any file of their store — after their ledgers close, and again after they
 * reopen and close. Real nodes on 127.0.0.1, data on disk.
 *
 * The replicas restart before the erasure, so the blocks they received are
 * in table and blob files (not only in RocksDB's memtable and log) when the
 * erasure arrives.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildErasure, buildExam, buildUserEntry, signEntry, type ExamPlain, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import type { NetworkNode } from '@healthchain/net'
import { doubleMarker, findOnDisk, markerText, missingOnDisk, randomCoordinate, textMarker, type Marker } from '../../../test/helpers/disk-scan.js'
import { crypto, enrol, TestNet, waitFor, type Cleanup, type Party } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const T0 = Date.UTC(2026, 0, 1)

async function writeExam (node: NetworkNode, author: Party, user: UserKeys, chainKey: Uint8Array, plain: ExamPlain): Promise<number> {
  const exam = buildExam({
    author: author.id, reg: node.ledger.registry.length, chainKey, plain, sealed: { notes: 'sealed note' }, recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto)
  return (await node.append(user.userId, (at) => signEntry(exam, { chainKey, seq: at }, author.keys.sign.secretKey, crypto))).seq
}

async function writeUser (node: NetworkNode, user: UserKeys, chainKey: Uint8Array, unsigned: UnsignedEntry): Promise<number> {
  return (await node.append(user.userId, (at) => signEntry(unsigned, { chainKey, seq: at }, user.sign.secretKey, crypto))).seq
}

async function verifiedAt (node: NetworkNode, user: UserKeys, length: number, what: string): Promise<void> {
  await waitFor(async () => (await node.ledger.chain(user.userId).catch(() => undefined))?.verifiedLength === length, `${what} to verify ${length} entries`, 15_000)
}

describe('erasure on disk, over the network', () => {
  it('replicas keep no byte of the erased entries once the erasure reaches them', async () => {
    const ids = ['hospital-a', 'hospital-b', 'regulator'] as const
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']], cleanup)
    const a = await net.start('hospital-a')
    await net.start('hospital-b')
    await net.start('regulator')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    const hospitalA = net.party('hospital-a')

    const kept = markerText('KEEP')
    await writeExam(a, hospitalA, user, chainKey, { title: kept, observations: [] })
    const small = markerText('EXAM')
    const bulky = markerText('BULKY-EXAM')
    const move = markerText('EXERCISE')
    const lat = randomCoordinate(-80, 80)
    const points = Array.from({ length: 200 }, (_, i) => ({
      lat: i === 0 ? lat : randomCoordinate(-80, 80), lon: randomCoordinate(-170, 170), acc: 5, time: T0 + i * 1000
    }))
    const erasedSeqs = [
      await writeExam(a, hospitalA, user, chainKey, { title: small, observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] }),
      await writeExam(a, hospitalA, user, chainKey, { title: 'Long report', observations: Array.from({ length: 24 }, (_, i) => ({ code: '8251-1', value: `${bulky} ${i} ${'x'.repeat(200)}` })) }),
      await writeUser(a, user, chainKey, buildUserEntry('exercise', { start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: move }] }, { time: T0 }, crypto)),
      await writeUser(a, user, chainKey, buildUserEntry('location', { points }, { time: T0 }, crypto))
    ]
    const erased: Marker[] = [textMarker(small), textMarker(bulky), textMarker(move), doubleMarker('location', lat)]
    const length = erasedSeqs.at(-1)! + 1
    for (const id of ids) await verifiedAt(net.node(id), user, length, id)

    // The replicas restart: reopening replays RocksDB's log into table and blob files. The control, closed: it is all there (in the log).
    for (const id of ['hospital-b', 'regulator']) {
      await net.stop(id)
      await net.closeLedger(id)
      expect(await missingOnDisk(net.dataDir(id), [...erased, textMarker(kept)]), `${id} before the erasure`).toEqual([])
      await net.start(id)
    }

    await writeUser(a, user, chainKey, buildErasure(erasedSeqs, {}, crypto))
    for (const id of ids) await verifiedAt(net.node(id), user, length + 1, id)
    for (const id of ids) {
      const chain = await net.node(id).ledger.chain(user.userId)
      for (const seq of erasedSeqs) expect(await chain.get(seq), `${id} serves ${seq}`).toBeNull()
    }

    for (const id of ids) {
      await net.stop(id)
      await net.closeLedger(id)
    }
    for (const id of ids) {
      expect(await findOnDisk(net.dataDir(id), erased), `${id} after the erasure and a close`).toEqual([])
      expect(await missingOnDisk(net.dataDir(id), [textMarker(kept)]), `${id} keeps the rest`).toEqual([])
    }
    for (const id of ids) {
      const ledger = await net.ledger(id)
      expect(await ledger.verify(user.userId)).toMatchObject({ valid: true, erased: erasedSeqs, missing: [] })
      await net.closeLedger(id)
      expect(await findOnDisk(net.dataDir(id), erased), `${id} after a reopen and a close`).toEqual([])
    }
  }, 120_000)
})
