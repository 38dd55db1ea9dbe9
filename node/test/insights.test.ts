/**
 * The query index behind the HTTP API, on real daemons: an examiner stores
 * FHIR Observations, users' phones write location points; the series, the
 * exercise summary, contact tracing and statistics answer from the index
 * (at the custodian, and at a replica fed by replication); a chain exports
 * as a valid FHIR Bundle holding only what the reader may see; every role
 * outside the table is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildUserEntry, fromHex, type UserKeys } from '@healthchain/core'
import { validateFhir } from '../src/fhir/validate.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'
import { signAsUser, userWriteBody, type TestChain } from './helpers/user-writes.js'

let net: TestConsortium
let a: TestNode
let b: TestNode
let agency: TestNode
let staffA: string
let alice: TestChain
let bob: TestChain
const T0 = Date.parse('2026-05-04T08:00:00Z')

function bp (value: number, time: number, note?: string): object {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: 'Systolic BP' },
    effectiveDateTime: new Date(time).toISOString(),
    valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    ...(note === undefined ? {} : { note: [{ text: note }] })
  }
}

async function userWrites (chain: TestChain, type: 'location' | 'exercise', plain: object): Promise<void> {
  const seq = (await a.daemon.ledger.chain(chain.user.userId)).length
  const entry = signAsUser(chain, buildUserEntry(type, plain as never, {}, crypto), seq)
  const reply = await call(a.url, 'POST', `/v1/users/${chain.user.userId}/entries`, { token: await userToken(a, chain.user), body: userWriteBody(entry, seq) })
  expect(reply.status).toBe(201)
}

async function enrolled (): Promise<TestChain> {
  const { user, chainKey } = await enrolOverHttp(a, staffA)
  return { user: user as UserKeys, chainKey: fromHex(chainKey, 32, 'chainKey') }
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer']])
  a = net.node('hospital-a')
  b = net.node('hospital-b')
  agency = net.node('agency')
  staffA = await staffToken(a)
  alice = await enrolled()
  bob = await enrolled()
  for (const [i, value] of [118, 131, 142].entries()) {
    const reply = await call(a.url, 'POST', `/v1/users/${alice.user.userId}/fhir`, { token: staffA, body: bp(value, T0 + i * 86_400_000, i === 2 ? 'white-coat effect suspected' : undefined) })
    expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  }
  // Alice and Bob cross paths: 10 m apart, 5 minutes apart; later Bob is 2 km away.
  await userWrites(alice, 'location', { points: [{ lat: 52.5200, lon: 13.4050, acc: 5, time: T0 }] })
  await userWrites(bob, 'location', { points: [{ lat: 52.52009, lon: 13.4050, acc: 5, time: T0 + 5 * 60_000 }, { lat: 52.538, lon: 13.4050, acc: 5, time: T0 + 60 * 60_000 }] })
  await userWrites(alice, 'exercise', { start: T0, end: T0 + 3_600_000, observations: [{ code: '55423-8', value: 5400, unit: '{steps}' }] })
  await a.daemon.follower.idle()
}, 60_000)

afterAll(async () => { await net?.close() })

describe('insights from the query index', () => {
  it('series: count, min, max, mean, latest, change and out-of-range flags, for the user and an examiner', async () => {
    for (const token of [staffA, await userToken(a, alice.user)]) {
      const reply = await call(a.url, 'GET', `/v1/users/${alice.user.userId}/series?code=8480-6`, { token })
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({ code: '8480-6', count: 3, min: 118, max: 142, change: 24, outOfRange: 2 })
      expect(reply.body.mean).toBeCloseTo((118 + 131 + 142) / 3)
      expect(reply.body.latest.value).toBe(142)
    }
  })

  it('a replica\'s index is fed by replication: hospital-b answers the same series', async () => {
    const staffB = await staffToken(b)
    await waitUntil(async () => (await call(b.url, 'GET', `/v1/users/${alice.user.userId}/series?code=8480-6`, { token: staffB })).body.count === 3, 'hospital-b\'s index to hold the replicated exams')
  })

  it('exercise: a daily summary of the steps the phone wrote', async () => {
    const reply = await call(a.url, 'GET', `/v1/users/${alice.user.userId}/exercise?period=day&since=2026-05-04T00:00:00Z&until=2026-05-05T00:00:00Z`, { token: staffA })
    expect(reply.status).toBe(200)
    expect(reply.body[0]).toMatchObject({ label: '2026-05-04', steps: 5400 })
  })

  it('contact tracing (inquirer): Bob within 25 m and 15 minutes, his later point 2 km away not matched', async () => {
    const token = await staffToken(agency)
    await waitUntil(async () => agency.daemon.ledger.hasChain(bob.user.userId) && await agency.daemon.index.indexedLength(bob.user.userId) >= 2, 'the agency to replicate and index Bob\'s chain')
    await waitUntil(async () => agency.daemon.ledger.hasChain(alice.user.userId) && await agency.daemon.index.indexedLength(alice.user.userId) >= 5, 'the agency to replicate and index Alice\'s chain')
    const reply = await call(agency.url, 'POST', '/v1/trace', {
      token,
      body: {
        userId: alice.user.userId,
        since: new Date(T0 - 3_600_000).toISOString(),
        until: new Date(T0 + 86_400_000).toISOString(),
        radiusMetres: 25,
        windowMinutes: 15
      }
    })
    expect(reply.status).toBe(200)
    expect(reply.body.contacts.map((c: { userId: string }) => c.userId)).toEqual([bob.user.userId])
    expect(reply.body.contacts[0].matches).toHaveLength(1)
    const lines = (await agency.daemon.audit.read()).map((l) => l.line)
    expect(lines.at(-1)).toMatchObject({ action: 'read', target: `trace:${alice.user.userId}`, result: 'granted' })
  })

  it('statistics (inquirer): two users are below the small-cell threshold, so nothing is disclosed', async () => {
    const reply = await call(agency.url, 'GET', '/v1/statistics?period=month&code=8480-6', { token: await staffToken(agency) })
    expect(reply.status).toBe(200)
    expect(JSON.stringify(reply.body)).not.toContain(alice.user.userId)
    expect(reply.body.buckets).toEqual([{ code: '8480-6', unit: 'mm[Hg]', period: '2026-05', suppressed: true }])
    expect(reply.body.suppressedBuckets).toBe(1)
  })

  it.each([
    ['an inquirer asks for a series', 'agency', 'GET', () => `/v1/users/${alice.user.userId}/series?code=8480-6`, undefined],
    ['an examiner traces contacts', 'hospital-a', 'POST', () => '/v1/trace', () => ({ userId: alice.user.userId, since: new Date(T0).toISOString(), until: new Date(T0 + 1000).toISOString(), radiusMetres: 10, windowMinutes: 5 })],
    ['an examiner asks for statistics', 'hospital-a', 'GET', () => '/v1/statistics?period=day', undefined]
  ])('refused: %s (403, audited)', async (_name, who, method, path, body) => {
    const node = net.node(who)
    const reply = await call(node.url, method, path(), { token: await staffToken(node), ...(body === undefined ? {} : { body: body() }) })
    expect(reply.status).toBe(403)
    expect(reply.body.error.code).toBe('FORBIDDEN')
    expect((await node.daemon.audit.read()).at(-1)?.line).toMatchObject({ result: 'refused', code: 'FORBIDDEN' })
  })

  it('time windows are checked alike on every route: until after since, 2000–2200, offsets accepted; a refusal names query. or body. fields', async () => {
    const inquirer = await staffToken(agency)
    const series = (q: string) => `/v1/users/${alice.user.userId}/series?code=8480-6&${q}`
    const entries = (q: string) => `/v1/users/${alice.user.userId}/entries?${q}`
    for (const [path, field] of [
      [series('since=2026-05-05T00:00:00Z&until=2026-05-04T00:00:00Z'), 'query.until'],
      [series('since=1999-12-31T00:00:00Z'), 'query.since'],
      [entries('since=2026-05-05T00:00:00Z&until=2026-05-04T00:00:00Z'), 'query.until'],
      [entries('until=9999-01-01T00:00:00Z'), 'query.until'],
      [entries('since=0001-01-01T00:00:00Z'), 'query.since']
    ] as const) {
      const reply = await call(a.url, 'GET', path, { token: staffA })
      expect([reply.status, reply.body.error?.code, reply.body.error?.field]).toEqual([400, 'BAD_REQUEST', field])
    }
    const stats = await call(agency.url, 'GET', '/v1/statistics?period=day&minUsers=4', { token: inquirer })
    expect([stats.status, stats.body.error.field]).toEqual([400, 'query.minUsers'])
    expect(stats.body.error.message).toContain('999999')
    const trace = await call(agency.url, 'POST', '/v1/trace', { token: inquirer, body: { userId: alice.user.userId, since: new Date(T0).toISOString(), until: new Date(T0).toISOString(), radiusMetres: 10, windowMinutes: 5 } })
    expect([trace.status, trace.body.error.field]).toEqual([400, 'body.until'])
    // An offset is an instant like any other: the same answer as its UTC form.
    const withOffset = await call(a.url, 'GET', entries('since=2026-05-04T02:00:00%2B02:00'), { token: staffA })
    const utc = await call(a.url, 'GET', entries('since=2026-05-04T00:00:00Z'), { token: staffA })
    expect(withOffset.status).toBe(200)
    expect(utc.body.entries.length).toBeGreaterThan(0)
    expect(withOffset.body.entries).toEqual(utc.body.entries)
  })

  it('a user may not ask for another user\'s series (403); an unknown user is 404', async () => {
    const asAlice = await userToken(a, alice.user)
    expect((await call(a.url, 'GET', `/v1/users/${bob.user.userId}/series?code=8480-6`, { token: asAlice })).status).toBe(403)
    expect((await call(a.url, 'GET', `/v1/users/${'a'.repeat(32)}/series?code=8480-6`, { token: staffA })).body.error.code).toBe('UNKNOWN_CHAIN')
  })
})

describe('FHIR over HTTP', () => {
  it('an invalid resource is refused with a code naming the problem, and nothing is written', async () => {
    const before = (await a.daemon.ledger.chain(alice.user.userId)).length
    const reply = await call(a.url, 'POST', `/v1/users/${alice.user.userId}/fhir`, { token: staffA, body: { ...bp(120, T0), valueQuantity: { value: 'high' } } })
    expect(reply.status).toBe(422)
    expect(reply.body.error.code).toBe('FHIR_INVALID')
    expect((await a.daemon.ledger.chain(alice.user.userId)).length).toBe(before)
  })

  it('exports a valid Bundle; the examiner\'s holds the sealed note, the inquirer\'s holds nothing sealed', async () => {
    const mine = await call(a.url, 'GET', `/v1/users/${alice.user.userId}/fhir`, { token: staffA })
    expect(mine.status).toBe(200)
    validateFhir(mine.body)
    expect(mine.body.entry.map((e: { resource: { code: { coding: Array<{ code: string }> } } }) => e.resource.code.coding[0]!.code)).toEqual(['8480-6', '8480-6', '8480-6', '55423-8'])
    expect(JSON.stringify(mine.body)).toContain('white-coat effect suspected')

    const token = await staffToken(agency)
    const theirs = await call(agency.url, 'GET', `/v1/users/${alice.user.userId}/fhir`, { token })
    expect(theirs.status).toBe(200)
    validateFhir(theirs.body)
    expect(theirs.body.entry).toHaveLength(4)
    expect(JSON.stringify(theirs.body)).not.toContain('white-coat')
  })
})
