/**
 * "Nothing is served as valid that a full verification of the chain
 * refuses", over every view a daemon offers, not only the ledger read.
 *
 * Real daemons on 127.0.0.1: hospital-a (examiner, custodian of every chain
 * here, and the liar), hospital-b (examiner), agency (inquirer), regulator.
 * Five users are enrolled at hospital-a over HTTP, each with one honest
 * systolic reading (8480-6, 120…124 mm[Hg]; five users, so statistics are
 * not suppressed); two of them write location points that cross (tracing).
 * Once every replica has verified and indexed them, hospital-a appends raw
 * blocks through the malicious-custodian kit and announces the heads:
 *
 * - user 0: a consent grant for hospital-b "from the user", signed with
 *   hospital-a's key, then an exam of its own (validly signed) reading 999;
 * - user 1: a location point "from the user", signed with hospital-a's key,
 *   beside user 2's honest point;
 * - user 4: an exam reading 999 that names hospital-b as its author, signed
 *   with hospital-a's key.
 *
 * Hypercore stores those blocks on every replica before the ledger refuses
 * them. On hospital-b, agency and regulator, as their roles allow, over
 * HTTP: the chain summary, entries, the FHIR export, the series, statistics,
 * contact tracing and the integrity report must show the honest data (the
 * control: the test can fail) and nothing forged — at first, after an idle
 * close, after a restart from the data directories with the persisted query
 * index, and after a restart with the index rebuilt offline (`reindex`).
 * The index file itself is read too while the daemons are stopped.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import {
  buildExam, buildUserEntry, fromHex, signEntry,
  type InstitutionId, type UserId, type UserKeys
} from '@healthchain/core'
import { loadOrCreateNodeKeys } from '../src/index.js'
import { openStoppedLedger } from '../src/cli/stopped-node.js'
import { INDEX_FILE_NAME, QueryIndex } from '../src/query-index/index.js'
import { MaliciousCustodian } from '../../packages/net/test/helpers/malicious-custodian.js'
import type { Party } from '@healthchain/net/testing'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'
import { signAsUser, userWriteBody, type TestChain } from './helpers/user-writes.js'

const T0 = Date.parse('2026-05-04T08:00:00Z')
const HONEST = [120, 121, 122, 123, 124] as const
const FORGED_VALUE = 999
const FORGED = `"value":${FORGED_VALUE}`
const REPLICAS = ['hospital-b', 'agency', 'regulator'] as const
/** Points 10–12 m apart: user 2's honest one, user 3's honest one 5 minutes later, the forged one "of user 1" 3 minutes later. */
const TRACED_POINT = { lat: 52.5200, lon: 13.4050, acc: 5, time: T0 }
const CONTACT_POINT = { lat: 52.52009, lon: 13.4050, acc: 5, time: T0 + 5 * 60_000 }
const FORGED_POINT = { lat: 52.52011, lon: 13.4050, acc: 5, time: T0 + 3 * 60_000 }

let net: TestConsortium
let a: TestNode
let staffA: string
const users: TestChain[] = []
/** Per user: positions honestly written (served everywhere) and positions the liar appended (served nowhere). */
const honestLength: number[] = []
const forgedAt = new Map<number, number[]>()

function node (id: string): TestNode { return net.node(id) }
function uid (i: number): UserId { return users[i]!.user.userId }

/** The daemon's institution as a test-net Party (the kit signs with its keys). */
async function partyOf (n: TestNode): Promise<Party> {
  const keys = await loadOrCreateNodeKeys(n.daemon.layout.keys, crypto)
  return { id: n.id, role: n.role, keys: keys.institution, p2p: keys.p2p, peer: n.daemon.network.status().peerId }
}

async function examOverHttp (i: number, value: number): Promise<void> {
  const reply = await call(a.url, 'POST', `/v1/users/${uid(i)}/entries`, {
    token: staffA,
    body: { type: 'exam', plain: { title: 'Visit', observations: [{ code: '8480-6', value, unit: 'mm[Hg]', time: T0 + i * 60_000 }] }, sealed: { notes: 'seen' } }
  })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
}

async function locationOverHttp (i: number, point: typeof TRACED_POINT): Promise<void> {
  const seq = (await a.daemon.ledger.chain(uid(i))).length
  const entry = signAsUser(users[i]!, buildUserEntry('location', { points: [point] }, {}, crypto), seq)
  const reply = await call(a.url, 'POST', `/v1/users/${uid(i)}/entries`, { token: await userToken(a, users[i]!.user), body: userWriteBody(entry, seq) })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
}

/** Whether `n` holds user i's chain at length `stored`, exactly `verified` of its positions verified and indexed. */
async function replicaAt (n: TestNode, i: number, stored: number, verified: number): Promise<boolean> {
  const ledger = n.daemon.ledger
  if (!ledger.hasChain(uid(i))) return false
  const chain = await ledger.chain(uid(i))
  return chain.length === stored && chain.verifiedLength === verified && await n.daemon.index.indexedLength(uid(i)) === verified
}

/**
 * Whether `n` has settled on user i's forged head: the chain at length
 * `stored` with every block on disk (Hypercore took them: the custodian
 * signed the tree) and the refusal counted (BAD_SIGNATURE) — or already
 * verified past its honest prefix, which the views' checks then report.
 */
async function forgedBlocksSettled (n: TestNode, i: number, stored: number): Promise<boolean> {
  const ledger = n.daemon.ledger
  if (!ledger.hasChain(uid(i))) return false
  const chain = await ledger.chain(uid(i))
  if (chain.length !== stored) return false
  if (chain.verifiedLength > honestLength[i]!) return true
  return coreOf(chain).contiguousLength === stored && (n.daemon.network.heads.stats.fetch.failed.get('BAD_SIGNATURE') ?? 0) > 0
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']])
  a = node('hospital-a')
  staffA = await staffToken(a)
  for (let i = 0; i < HONEST.length; i++) {
    const { user, chainKey } = await enrolOverHttp(a, staffA)
    users.push({ user: user as UserKeys, chainKey: fromHex(chainKey, 32, 'chainKey') })
    await examOverHttp(i, HONEST[i]!)
  }
  await locationOverHttp(2, TRACED_POINT)
  await locationOverHttp(3, CONTACT_POINT)
  for (let i = 0; i < users.length; i++) honestLength.push((await a.daemon.ledger.chain(uid(i))).length)
  for (const id of REPLICAS) {
    for (let i = 0; i < users.length; i++) {
      await waitUntil(async () => await replicaAt(node(id), i, honestLength[i]!, honestLength[i]!), `${id} to verify and index user ${i}'s honest entries`, 30_000)
    }
  }

  const liarParty = await partyOf(a)
  const liar = MaliciousCustodian.at(a.daemon.network, liarParty)
  const b = await partyOf(node('hospital-b'))
  const forgedExam = (i: number, author: InstitutionId) => async (): Promise<number> => await liar.rawAppend(uid(i), (slot) => signEntry(buildExam({
    author,
    reg: a.daemon.ledger.registry.length,
    chainKey: slot.chainKey,
    plain: { title: 'Forged visit', observations: [{ code: '8480-6', value: FORGED_VALUE, unit: 'mm[Hg]', time: T0 }] },
    sealed: { notes: 'forged' },
    recipients: [users[i]!.user.box.publicKey, liarParty.keys.box.publicKey, b.keys.box.publicKey]
  }, crypto), slot, liarParty.keys.sign.secretKey, crypto))
  forgedAt.set(0, [await liar.forgedGrant(uid(0), b), await forgedExam(0, a.id)()])
  forgedAt.set(1, [await liar.rawAppend(uid(1), (slot) => signEntry(buildUserEntry('location', { points: [FORGED_POINT] }, {}, crypto), slot, liarParty.keys.sign.secretKey, crypto))])
  forgedAt.set(4, [await forgedExam(4, b.id)()])
  for (const id of REPLICAS) {
    for (const [i, seqs] of forgedAt) {
      await waitUntil(async () => await forgedBlocksSettled(node(id), i, seqs.at(-1)! + 1), `${id} to store and refuse the forged blocks of user ${i}`, 30_000)
    }
    await node(id).daemon.follower.idle()
  }
}, 180_000)

afterAll(async () => { await net?.close() })

/** Every view each replica offers, as its role allows: honest data present, forged data absent. Soft assertions, so one run names every view that leaks. */
async function checkViews (when: string): Promise<void> {
  for (const id of REPLICAS) {
    const n = node(id)
    await n.daemon.follower.idle()
    const staff = await staffToken(n)
    const get = async (path: string, token = staff): Promise<any> => {
      const reply = await call(n.url, 'GET', path, { token })
      expect(reply.status, `${id} ${when}: GET ${path.split('?')[0]}`).toBe(200)
      return reply.body
    }
    for (let i = 0; i < users.length; i++) {
      const forged = forgedAt.get(i) ?? []
      const at = `${id} ${when}, user ${i}`
      const honestValue = `"value":${HONEST[i]}`

      const summary = await get(`/v1/users/${uid(i)}`)
      expect.soft([summary.length, summary.verifiedLength], `${at}: chain summary`).toEqual([honestLength[i], honestLength[i]])

      const entries = await get(`/v1/users/${uid(i)}/entries`)
      const seqs = entries.entries.map((e: { seq: number }) => e.seq)
      expect.soft(seqs, `${at}: entries (honest positions)`).toEqual(Array.from({ length: honestLength[i]! - 1 }, (_, k) => k + 1))
      for (const seq of forged) expect.soft(seqs, `${at}: entries serve forged position ${seq}`).not.toContain(seq)
      expect.soft(JSON.stringify(entries), `${at}: entries hold the honest reading`).toContain(honestValue)
      expect.soft(JSON.stringify(entries), `${at}: entries hold a forged reading`).not.toContain(FORGED)
      expect.soft(JSON.stringify(entries), `${at}: entries hold the forged point`).not.toContain(`"lat":${FORGED_POINT.lat}`)

      const fhir = JSON.stringify(await get(`/v1/users/${uid(i)}/fhir`))
      expect.soft(fhir, `${at}: FHIR export holds the honest reading`).toContain(honestValue)
      expect.soft(fhir, `${at}: FHIR export holds a forged reading`).not.toContain(FORGED)

      const report = await get(`/v1/users/${uid(i)}/verify`)
      if (forged.length === 0) {
        expect.soft([report.valid, report.problems], `${at}: verify (honest chain)`).toEqual([true, []])
      } else {
        expect.soft(report.valid, `${at}: verify reports the forged chain valid`).toBe(false)
        expect.soft(report.problems, `${at}: verify names the first forged block`).toContainEqual(expect.objectContaining({ seq: forged[0], code: 'BAD_SIGNATURE' }))
      }

      if (n.role === 'examiner') {
        const series = await get(`/v1/users/${uid(i)}/series?code=8480-6`)
        expect.soft([series.count, series.min, series.max], `${at}: series`).toEqual([1, HONEST[i], HONEST[i]])
        expect.soft(JSON.stringify(series), `${at}: series holds a forged reading`).not.toContain(String(FORGED_VALUE))
      }
    }

    if (n.role === 'examiner') {
      // The user's own view at the replica (logged in there with the phone's key).
      const own = await userToken(n, users[0]!.user)
      const entries = await get(`/v1/users/${uid(0)}/entries`, own)
      expect.soft(entries.entries.map((e: { seq: number }) => e.seq), `${id} ${when}: user 0's own entries`).toEqual([1])
      const series = await get(`/v1/users/${uid(0)}/series?code=8480-6`, own)
      expect.soft([series.count, series.max], `${id} ${when}: user 0's own series`).toEqual([1, HONEST[0]])
      expect.soft(JSON.stringify(await get(`/v1/users/${uid(0)}/fhir`, own)), `${id} ${when}: user 0's own FHIR export`).not.toContain(FORGED)
    }

    if (n.role === 'inquirer' || n.role === 'regulator') {
      const stats = await get('/v1/statistics?period=month&code=8480-6')
      expect.soft(stats.buckets, `${id} ${when}: statistics`).toEqual([expect.objectContaining({
        code: '8480-6', period: '2026-05', suppressed: false, users: HONEST.length, count: HONEST.length, min: HONEST[0], max: HONEST.at(-1)
      })])
    }

    if (n.role === 'inquirer') {
      const trace = async (i: number): Promise<string[]> => {
        const reply = await call(n.url, 'POST', '/v1/trace', {
          token: staff,
          body: {
            userId: uid(i), since: new Date(T0 - 3_600_000).toISOString(), until: new Date(T0 + 3_600_000).toISOString(), radiusMetres: 25, windowMinutes: 15
          }
        })
        expect(reply.status, `${id} ${when}: trace`).toBe(200)
        return reply.body.contacts.map((c: { userId: string }) => c.userId)
      }
      expect.soft(await trace(2), `${id} ${when}: trace of user 2 (user 3 honest, user 1 forged)`).toEqual([uid(3)])
      expect.soft(await trace(1), `${id} ${when}: trace of user 1 (its only point is forged)`).toEqual([])
    }
  }
}

/** The persisted index of a stopped replica: the honest rows, and none of the forged ones. */
function checkIndexFile (id: string, when: string): void {
  const db = new Database(join(net.dir, id, 'index', INDEX_FILE_NAME), { readonly: true, fileMustExist: true })
  try {
    const count = (sql: string, ...args: unknown[]): number => (db.prepare(sql).pluck().get(...args) as number)
    expect.soft(count('SELECT count(*) FROM observations WHERE code = ?', '8480-6'), `${id} ${when}: honest readings in the index file`).toBe(HONEST.length)
    expect.soft(count('SELECT count(*) FROM observations WHERE value = ?', FORGED_VALUE), `${id} ${when}: forged readings in the index file`).toBe(0)
    expect.soft(count('SELECT count(*) FROM locations'), `${id} ${when}: location points in the index file`).toBe(2)
    expect.soft(count('SELECT count(*) FROM locations WHERE lat = ?', FORGED_POINT.lat), `${id} ${when}: the forged point in the index file`).toBe(0)
  } finally {
    db.close()
  }
}

async function restartReplicas (opts: { reindex: boolean }): Promise<void> {
  const when = opts.reindex ? 'stopped, before the reindex' : 'stopped'
  for (const id of REPLICAS) await net.stop(id)
  for (const id of REPLICAS) checkIndexFile(id, when)
  if (opts.reindex) {
    for (const id of REPLICAS) {
      // What `healthchain reindex --dir` does: drop the index and rebuild it from the store.
      const { ledger, layout } = await openStoppedLedger(join(net.dir, id), 'stop it first')
      try {
        const path = join(layout.index, INDEX_FILE_NAME)
        await QueryIndex.destroy(path)
        const index = QueryIndex.open(path)
        try {
          expect((await index.rebuild(ledger)).failed).toEqual([])
        } finally {
          await index.close()
        }
      } finally {
        await ledger.close()
      }
      checkIndexFile(id, 'after the reindex')
    }
  }
  for (const id of REPLICAS) {
    const n = await net.restart(id)
    await n.daemon.follower.idle()
  }
}

describe('a replica\'s views never serve what verification refuses', () => {
  it('at first: entries, FHIR, series, statistics, trace and verify show the honest data and nothing forged', async () => {
    await checkViews('at first')
  }, 60_000)

  it('after the chains are closed when idle and reopened', async () => {
    for (const id of REPLICAS) {
      const ledger = node(id).daemon.ledger
      await waitUntil(async () => (await ledger.closeIdle(0)) >= 0 && ledger.openChainCount === 0, `${id} to close its idle chains`, 30_000)
    }
    await checkViews('after an idle close')
  }, 90_000)

  it('after the replicas restart from their data directories, the persisted index kept', async () => {
    await restartReplicas({ reindex: false })
    await checkViews('after a restart')
  }, 120_000)

  it('after the replicas restart with their index rebuilt offline', async () => {
    await restartReplicas({ reindex: true })
    await checkViews('after a reindex and restart')
  }, 120_000)
})
