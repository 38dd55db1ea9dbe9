/**
 * Erasure on disk, on real daemons: the custodian and a replica each keep the
 * chain (RocksDB), a query index (SQLite: observation rows, location rows and
 * their grid cell index) and an audit log. After the user's erasure, no byte of the
 * erased entries' plain segments is in any file of either data directory —
 * after the daemons stop, and again after they restart and stop. The index
 * still answers for what was kept.
 *
 * Location points are found by their coordinates: as doubles (chain CBOR,
 * the `locations` rows) and as their grid cell beside their time (the cell
 * index's entries). Kept points are written before and after the erased
 * ones, so they share pages with them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildUserEntry, fromHex, type Observation, type UnsignedEntry, type UserKeys } from '@healthchain/core'
import {
  cellMarker, doubleMarker, findOnDisk, markerText, missingOnDisk, randomCoordinate, textMarker, type Marker
} from '../../test/helpers/disk-scan.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { cellOf, type QueryIndex } from '../src/query-index/index.js'
import { crypto } from './helpers/fixtures.js'
import { signAsUser, userWriteBody, type TestChain } from './helpers/user-writes.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

const T0 = Date.parse('2026-05-04T08:00:00Z')

interface Points { readonly plain: { points: Array<{ lat: number, lon: number, acc: number, time: number }> }, readonly markers: Marker[] }

/** `count` points with coordinates no other run shares; each point is a marker: its latitude as a double, and its cell index entry. */
function points (name: string, count: number, start: number): Points {
  const list = Array.from({ length: count }, (_, i) => ({
    lat: randomCoordinate(52.4, 52.6), lon: randomCoordinate(13.3, 13.5), acc: 5, time: start + i * 60_000
  }))
  return { plain: { points: list }, markers: list.flatMap((p, i) => [doubleMarker(`${name} point ${i}`, p.lat), cellMarker(`${name} point ${i}`, cellOf(p.lat, p.lon), p.time)]) }
}

async function userWrite (node: TestNode, chain: TestChain, unsigned: UnsignedEntry): Promise<number> {
  const seq = (await node.daemon.ledger.chain(chain.user.userId)).length
  const reply = await call(node.url, 'POST', `/v1/users/${chain.user.userId}/entries`, { token: await userToken(node, chain.user), body: userWriteBody(signAsUser(chain, unsigned, seq), seq) })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.seq as number
}

async function examWrite (node: TestNode, token: string, user: UserKeys, plain: { title: string, observations: Observation[] }): Promise<number> {
  const reply = await call(node.url, 'POST', `/v1/users/${user.userId}/entries`, { token, body: { type: 'exam', plain, sealed: { notes: 'sealed note' } } })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.seq as number
}

/** Waits until `node` holds the chain up to `length` and its index has caught up with it. */
async function indexedAt (node: TestNode, user: UserKeys, length: number): Promise<void> {
  await waitUntil(async () => node.daemon.ledger.hasChain(user.userId) && (await node.daemon.ledger.chain(user.userId)).verifiedLength === length, `${node.id} to verify ${length} entries`)
  await waitUntil(async () => await node.daemon.index.indexedLength(user.userId) === length, `${node.id}'s index to reach ${length}`)
}

/** Stops every daemon, then starts them again (the custodian first: the others bootstrap from it). */
async function restartAll (consortium: TestConsortium, ids: readonly string[]): Promise<TestNode[]> {
  for (const id of [...ids].reverse()) await consortium.stop(id)
  const nodes: TestNode[] = []
  for (const id of ids) nodes.push(await consortium.restart(id))
  return nodes
}

describe('erasure on disk (daemons)', () => {
  it('leaves no byte of the erased entries in the store, the query index or the audit log of the custodian or a replica', async () => {
    const ids = ['hospital-a', 'hospital-b'] as const
    net = await startConsortium(ids.map((id) => [id, 'examiner'] as const))
    let [a, b] = ids.map((id) => net!.node(id)) as [TestNode, TestNode]
    const staffA = await staffToken(a)
    const { user, chainKey } = await enrolOverHttp(a, staffA)
    const chain: TestChain = { user, chainKey: fromHex(chainKey, 32, 'chainKey') }

    const keptBefore = points('kept before', 150, T0)
    await userWrite(a, chain, buildUserEntry('location', keptBefore.plain, {}, crypto))
    const title = markerText('TITLE')
    const text = markerText('RESULT')
    const bulky = markerText('BULKY-RESULT')
    const exercise = markerText('EXERCISE')
    const erasedPoints = points('erased', 150, T0 + 86_400_000)
    const erasedSeqs = [
      await examWrite(a, staffA, user, { title, observations: [{ code: '8251-1', value: text }, { code: '8480-6', value: 131, unit: 'mm[Hg]' }] }),
      await examWrite(a, staffA, user, { title: 'Long report', observations: Array.from({ length: 24 }, (_, i) => ({ code: '8251-1', value: `${bulky} ${i} ${'x'.repeat(200)}` })) }),
      await userWrite(a, chain, buildUserEntry('exercise', { start: T0, end: T0 + 3_600_000, observations: [{ code: '55423-8', value: exercise }] }, {}, crypto)),
      await userWrite(a, chain, buildUserEntry('location', erasedPoints.plain, {}, crypto))
    ]
    const keptAfter = points('kept after', 150, T0 + 2 * 86_400_000)
    const length = await userWrite(a, chain, buildUserEntry('location', keptAfter.plain, {}, crypto)) + 1
    const erased = [textMarker(title), textMarker(text), textMarker(bulky), textMarker(exercise), ...erasedPoints.markers]
    const kept = [...keptBefore.markers, ...keptAfter.markers]
    for (const node of [a, b]) await indexedAt(node, user, length)

    // A restart puts what the stores hold in table files; the control: every marker is on disk at both nodes.
    ;[a, b] = await restartAll(net, ids) as [TestNode, TestNode]
    for (const node of [a, b]) {
      await node.daemon.follower.idle()
      expect(await missingOnDisk(node.daemon.layout.root, [...erased, ...kept]), `${node.id} before the erasure`).toEqual([])
      expect((await findOnDisk(node.daemon.layout.index, [textMarker(text)])).length, `${node.id}'s index holds the text`).toBeGreaterThan(0)
    }
    const before = await b.daemon.index.counts()

    await userWrite(a, chain, buildUserEntry('erasure', { entries: erasedSeqs }, {}, crypto))
    for (const node of [a, b]) await indexedAt(node, user, length + 1)
    expect(await b.daemon.index.counts()).toEqual({ ...before, observations: before.observations - (2 + 24 + 1), locations: before.locations - 150 })
    // While the daemons run: the index's WAL was truncated, and the stores' whole-store sweeps end in the background.
    for (const node of [a, b]) {
      await node.daemon.ledger.scrubsSettled()
      expect(await findOnDisk(node.daemon.layout.root, erased), `${node.id} while it runs`).toEqual([])
    }
    const roots = [a, b].map((node) => ({ id: node.id, root: node.daemon.layout.root }))

    for (const id of [...ids].reverse()) await net.stop(id)
    for (const { id, root } of roots) {
      expect(await findOnDisk(root, erased), `${id} after the erasure and a stop`).toEqual([])
      expect(await missingOnDisk(root, kept), `${id} keeps the other points`).toEqual([])
    }

    for (const id of ids) await net.restart(id)
    a = net.node('hospital-a')
    const series = await call(a.url, 'GET', `/v1/users/${user.userId}/series?code=8480-6`, { token: await staffToken(a) })
    expect(series.body.count).toBe(0)
    // The daemons run the default index, SQLite (its tables and indexes checked here).
    expect((a.daemon.index as QueryIndex).database.pragma('integrity_check', { simple: true })).toBe('ok')
    for (const id of [...ids].reverse()) await net.stop(id)
    for (const { id, root } of roots) expect(await findOnDisk(root, erased), `${id} after a restart and a stop`).toEqual([])
  }, 120_000)
})
