/**
 * One outsider flooding the API over real HTTP: per-source rate limits
 * (429 RATE_LIMITED with Retry-After), and an audit log that grows by a
 * bounded number of lines however many refusals it records — repeated
 * refusals of unauthenticated callers are counted into one line per source,
 * action and code per window, every one of them accounted for — while a
 * real user, from another address, logs in and is audited on their own
 * line. Windows end when the test says (the aggregator's flush; rate-limit
 * windows longer than any test), except where expiry itself is tested.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, fromHex } from '@healthchain/core'
import { createAuditService, signLogin, type AuditLine } from '../src/index.js'
import { registerAuditRoutes } from '../src/http/routes/audit.js'
import { NODE_NAME, startTestApi, type TestApi, type TestApiParts } from './helpers/api.js'
import { callFrom } from './helpers/from-address.js'
import { crypto, newUser } from './helpers/fixtures.js'
import { waitUntil } from './helpers/daemons.js'

const HOUR = 60 * 60 * 1000
const OTHER_SOURCE = '127.0.0.2'

let api: TestApi
afterEach(async () => { await api?.stop() })

const auditRoutes = (parts: TestApiParts) => [(app: Parameters<typeof registerAuditRoutes>[0]) => {
  registerAuditRoutes(app, { sessions: parts.sessions, audit: createAuditService({ audit: parts.audit }) })
}]

/** Sends `count` requests made by `request(i)` from 127.0.0.1, `parallel` at a time; the statuses, and each 429's answer. */
async function flood (count: number, parallel: number, request: (i: number) => Promise<{ status: number, body: any, headers: Headers }>) {
  const statuses = new Map<number, number>()
  const limited: Array<{ body: any, retryAfter: string | null }> = []
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const reply = await request(next++)
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
      if (reply.status === 429) limited.push({ body: reply.body, retryAfter: reply.headers.get('retry-after') })
    }
  }))
  return { statuses, limited }
}

/** How many refusals `lines` stand for: one for a line of its own, `count` for an aggregate line. */
function refusalsIn (lines: readonly AuditLine[]): number {
  return lines.reduce((sum, l) => sum + ((l as AuditLine & { count?: number }).count ?? 1), 0)
}

describe('a flood of logins from one source', () => {
  it('5,000 malformed logins: limited (429 RATE_LIMITED, Retry-After), a bounded audit log whose counts add up; a real user meanwhile logs in and is audited', async () => {
    api = await startTestApi({ rateLimit: { windowMs: HOUR, logins: 50, requests: 1000 }, aggregate: {} })
    const alice = newUser()
    api.userKeys.set(alice.userId, alice.sign.publicKey)

    const loginAsAlice = async () => {
      const asked = await callFrom(OTHER_SOURCE, api.url, 'POST', '/v1/session/challenge', { userId: alice.userId })
      const challenge = asked.body.challenge as string
      const signature = bytesToHex(signLogin(NODE_NAME, fromHex(challenge, 32, 'challenge'), alice.sign.secretKey, crypto))
      return await callFrom(OTHER_SOURCE, api.url, 'POST', '/v1/session', { userId: alice.userId, challenge, signature })
    }
    const [{ statuses, limited }, alicesLogin] = await Promise.all([
      flood(5000, 16, async () => await api.request('POST', '/v1/session', { body: {} })),
      (async () => {
        await waitUntil(() => api.audit.length > 0, 'the flood to be under way')
        return await loginAsAlice()
      })()
    ])

    expect(Object.fromEntries(statuses)).toEqual({ 400: 50, 429: 4950 })
    for (const answer of limited) {
      expect(answer.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } })
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(Number(answer.retryAfter)).toBeLessThanOrEqual(HOUR / 1000)
    }
    expect(alicesLogin.status).toBe(200)

    await api.aggregator!.flush()
    const lines = await api.auditLines()
    const flooded = lines.filter((l) => l.from === '127.0.0.1')
    // One line of its own and one with the count, per code: however long the flood.
    expect(flooded.length).toBeLessThanOrEqual(4)
    expect(flooded.every((l) => l.action === 'login' && l.result === 'refused')).toBe(true)
    expect(refusalsIn(flooded.filter((l) => l.code === 'BAD_REQUEST'))).toBe(50)
    expect(refusalsIn(flooded.filter((l) => l.code === 'RATE_LIMITED'))).toBe(4950)
    expect(refusalsIn(flooded)).toBe(5000)
    // The real user's login: granted, on a line of its own.
    expect(lines.filter((l) => l.from === OTHER_SOURCE)).toEqual([{
      v: 1, time: expect.any(String), actor: `user:${alice.userId}`, role: 'user', action: 'login', from: OTHER_SOURCE, result: 'granted'
    }])
  }, 60_000)

  it('an unauthenticated flood of a guarded route is limited and counted the same way', async () => {
    api = await startTestApi({ rateLimit: { windowMs: HOUR, logins: 50, requests: 100 }, aggregate: {}, routes: auditRoutes })
    const { statuses } = await flood(2000, 16, async () => await api.request('GET', '/v1/audit'))
    expect(Object.fromEntries(statuses)).toEqual({ 401: 100, 429: 1900 })
    await api.aggregator!.flush()
    const lines = await api.auditLines()
    expect(lines.length).toBeLessThanOrEqual(4)
    expect(lines.every((l) => l.actor === 'anonymous' && l.action === 'read' && l.result === 'refused')).toBe(true)
    expect(refusalsIn(lines.filter((l) => l.code === 'MISSING_TOKEN'))).toBe(100)
    expect(refusalsIn(lines.filter((l) => l.code === 'RATE_LIMITED'))).toBe(1900)
  }, 60_000)

  it('an aggregate line: counted refusals between `since` and `time`, the actor kept when all named the same one; GET /v1/audit shows it', async () => {
    api = await startTestApi({ aggregate: {}, routes: auditRoutes })
    const { apiKey, record } = await api.apiKeys.create('front desk', 'examiner')
    const wrong = apiKey.slice(0, -2) + (apiKey.endsWith('AA') ? 'QA' : 'AA')
    const start = api.clock.now()
    for (let i = 0; i < 4; i++) {
      expect((await api.request('POST', '/v1/session', { body: { apiKey: wrong } })).status).toBe(401)
      api.clock.advance(1000)
    }
    // Logins claiming three users, refused alike: the first has its line, the count line of the others names no one.
    for (const user of [newUser(), newUser(), newUser()]) {
      const { body: { challenge } } = await api.request('POST', '/v1/session/challenge', { body: { userId: user.userId } })
      const signature = bytesToHex(signLogin(NODE_NAME, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto))
      expect((await api.request('POST', '/v1/session', { body: { userId: user.userId, challenge, signature } })).status).toBe(401)
    }
    expect(await api.auditLines()).toHaveLength(2)
    api.clock.advance(1000)
    await api.aggregator!.flush()
    const lines = await api.auditLines()
    expect(lines).toEqual([
      { v: 1, time: new Date(start).toISOString(), actor: `key:${record.id}`, action: 'login', from: '127.0.0.1', result: 'refused', code: 'UNKNOWN_KEY' },
      { v: 1, time: expect.any(String), actor: expect.stringMatching(/^user:/), action: 'login', from: '127.0.0.1', result: 'refused', code: 'UNKNOWN_USER' },
      {
        v: 1,
        time: new Date(start + 5000).toISOString(),
        since: new Date(start + 1000).toISOString(),
        count: 3,
        actor: `key:${record.id}`,
        action: 'login',
        from: '127.0.0.1',
        result: 'refused',
        code: 'UNKNOWN_KEY'
      },
      {
        v: 1,
        time: new Date(start + 5000).toISOString(),
        since: new Date(start + 4000).toISOString(),
        count: 2,
        actor: 'anonymous',
        action: 'login',
        from: '127.0.0.1',
        result: 'refused',
        code: 'UNKNOWN_USER'
      }
    ])
    // A new window: the next refusal is again a line of its own.
    expect((await api.request('POST', '/v1/session', { body: { apiKey: wrong } })).status).toBe(401)
    expect((await api.auditLines()).at(-1)).toMatchObject({ code: 'UNKNOWN_KEY', actor: `key:${record.id}` })
    expect((await api.auditLines()).at(-1)).not.toHaveProperty('count')

    const { body: { token } } = await api.request('POST', '/v1/session', { body: { apiKey } })
    const read = await api.request('GET', '/v1/audit?start=0&limit=4', { token })
    expect(read.body.lines[2]).toEqual({ seq: 2, ...lines[2], v: undefined })
    expect(read.body.lines[2]).toMatchObject({ count: 3, since: new Date(start + 1000).toISOString() })
  })

  it('refusals of a caller with a valid token are each a line of their own', async () => {
    api = await startTestApi({ aggregate: {}, routes: auditRoutes })
    const user = newUser()
    api.userKeys.set(user.userId, user.sign.publicKey)
    const { body: { challenge } } = await api.request('POST', '/v1/session/challenge', { body: { userId: user.userId } })
    const signature = bytesToHex(signLogin(NODE_NAME, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto))
    const { body: { token } } = await api.request('POST', '/v1/session', { body: { userId: user.userId, challenge, signature } })
    for (let i = 0; i < 5; i++) expect((await api.request('GET', '/v1/audit', { token })).status).toBe(403)
    await api.aggregator!.flush()
    const refused = (await api.auditLines()).filter((l) => l.result === 'refused')
    expect(refused).toHaveLength(5)
    expect(refused.every((l) => l.actor === `user:${user.userId}` && l.code === 'FORBIDDEN' && !('count' in l))).toBe(true)
  })

  it('the limit is per source, and a source is let in again once its window is over', async () => {
    api = await startTestApi({ rateLimit: { windowMs: 1000, logins: 2, requests: 1000 } })
    for (let i = 0; i < 2; i++) expect((await api.request('POST', '/v1/session', { body: {} })).status).toBe(400)
    const limited = await api.request('POST', '/v1/session', { body: {} })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('1')
    // Another address is not held back by this one.
    expect((await callFrom(OTHER_SOURCE, api.url, 'POST', '/v1/session', {})).status).toBe(400)
    await waitUntil(async () => (await api.request('POST', '/v1/session', { body: {} })).status === 400, 'the window to end', 10_000)
  })
})
