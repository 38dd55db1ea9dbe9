/**
 * The login audit over real HTTP: staff and user logins, every refusal
 * a 401 with its code and an audit line 'refused' with the remote address,
 * nothing else changed by a refusal, and no secret ever in the log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bytesToHex, fromHex, newRecoveryPhrase, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { ApiClient, loginWithPhrase } from '../src/cli/index.js'
import { signLogin } from '../src/index.js'
import { NODE_NAME, startTestApi, type TestApi } from './helpers/api.js'
import { crypto, newUser, type TestUser } from './helpers/fixtures.js'

let api: TestApi
beforeEach(async () => { api = await startTestApi() })
afterEach(async () => { await api.stop() })

async function lastLine () {
  const lines = await api.auditLines()
  return lines[lines.length - 1]
}

/** A reply's headers but the ones that differ between any two answers (the date). */
function sameHeaders (headers: Headers): Array<[string, string]> {
  return [...headers].filter(([name]) => name !== 'date')
}

async function challengeFor (user: TestUser): Promise<string> {
  const res = await api.request('POST', '/v1/session/challenge', { body: { userId: user.userId } })
  expect(res.status).toBe(200)
  return res.body.challenge as string
}

function signed (user: TestUser, challenge: string, node = NODE_NAME): string {
  return bytesToHex(signLogin(node, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto))
}

describe('POST /v1/session with an API key', () => {
  it('grants a short-lived token and writes a granted line', async () => {
    const { apiKey, record } = await api.apiKeys.create('front desk', 'examiner')
    const res = await api.request('POST', '/v1/session', { body: { apiKey } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.body).toEqual({
      token: expect.stringMatching(/^hct_/),
      tokenType: 'Bearer',
      expiresAt: new Date(api.clock.now() + 15 * 60 * 1000).toISOString(),
      role: 'examiner',
      subject: record.id
    })
    expect(await api.auditLines()).toEqual([{
      v: 1, time: new Date(api.clock.now()).toISOString(), actor: `key:${record.id}`, role: 'examiner', action: 'login', from: '127.0.0.1', result: 'granted'
    }])
  })

  const refusals: Array<[string, (api: TestApi) => Promise<{ apiKey: string, actor: string }>, string]> = [
    ['an unknown key', async (a) => {
      const { apiKey, record } = await a.apiKeys.create('x', 'examiner')
      const wrong = apiKey.slice(0, -2) + (apiKey.endsWith('AA') ? 'QA' : 'AA')
      return { apiKey: wrong, actor: `key:${record.id}` }
    }, 'UNKNOWN_KEY'],
    ['a malformed key', async () => ({ apiKey: 'password123', actor: 'anonymous' }), 'MALFORMED_KEY'],
    ['a revoked key', async (a) => {
      const { apiKey, record } = await a.apiKeys.create('gone', 'examiner')
      await a.apiKeys.revoke(record.id)
      return { apiKey, actor: `key:${record.id}` }
    }, 'REVOKED_KEY'],
    ['a key for another role', async (a) => {
      const { apiKey, record } = await a.apiKeys.create('agency', 'inquirer')
      return { apiKey, actor: `key:${record.id}` }
    }, 'KEY_ROLE_MISMATCH']
  ]
  for (const [name, make, code] of refusals) {
    it(`refuses ${name}: 401 ${code}, a refused line, no token`, async () => {
      const { apiKey, actor } = await make(api)
      const res = await api.request('POST', '/v1/session', { body: { apiKey } })
      expect(res.status).toBe(401)
      expect(res.body).toEqual({ error: { code, message: expect.any(String) } })
      expect(res.body.error.message).not.toContain(apiKey)
      expect(api.tokens.size).toBe(0)
      expect(await api.auditLines()).toEqual([{
        v: 1, time: expect.any(String), actor, action: 'login', from: '127.0.0.1', result: 'refused', code
      }])
    })
  }
})

describe('POST /v1/session with a signed challenge', () => {
  it('grants a user token', async () => {
    const alice = newUser()
    api.userKeys.set(alice.userId, alice.sign.publicKey)
    const challenge = await challengeFor(alice)
    expect(challenge).toMatch(/^[0-9a-f]{64}$/)
    const res = await api.request('POST', '/v1/session', { body: { userId: alice.userId, challenge, signature: signed(alice, challenge) } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ role: 'user', subject: alice.userId, tokenType: 'Bearer' })
    expect(await lastLine()).toMatchObject({ actor: `user:${alice.userId}`, role: 'user', action: 'login', result: 'granted', from: '127.0.0.1' })
  })

  it('refuses a wrong signature, an unknown user, a reused and an expired challenge (401, refused lines with the real reason)', async () => {
    const alice = newUser()
    const mallory = newUser()
    const stranger = newUser()
    api.userKeys.set(alice.userId, alice.sign.publicKey)
    const attempt = async (body: Record<string, string>): Promise<string> => {
      const res = await api.request('POST', '/v1/session', { body })
      expect(res.status).toBe(401)
      return res.body.error.code as string
    }

    let c = await challengeFor(alice)
    expect(await attempt({ userId: alice.userId, challenge: c, signature: signed(mallory, c) })).toBe('LOGIN_REFUSED')
    c = await challengeFor(alice)
    expect(await attempt({ userId: alice.userId, challenge: c, signature: signed(alice, c, 'hospital-b' as typeof NODE_NAME) })).toBe('LOGIN_REFUSED')
    c = await challengeFor(stranger)
    expect(await attempt({ userId: stranger.userId, challenge: c, signature: signed(stranger, c) })).toBe('LOGIN_REFUSED')
    c = await challengeFor(alice)
    const ok = await api.request('POST', '/v1/session', { body: { userId: alice.userId, challenge: c, signature: signed(alice, c) } })
    expect(ok.status).toBe(200)
    expect(await attempt({ userId: alice.userId, challenge: c, signature: signed(alice, c) })).toBe('LOGIN_REFUSED')
    c = await challengeFor(alice)
    api.clock.advance(2 * 60 * 1000)
    expect(await attempt({ userId: alice.userId, challenge: c, signature: signed(alice, c) })).toBe('UNKNOWN_CHALLENGE')

    const lines = await api.auditLines()
    expect(lines.map((l) => [l.actor, l.result, l.code])).toEqual([
      [`user:${alice.userId}`, 'refused', 'BAD_SIGNATURE'],
      [`user:${alice.userId}`, 'refused', 'BAD_SIGNATURE'],
      [`user:${stranger.userId}`, 'refused', 'UNKNOWN_USER'],
      [`user:${alice.userId}`, 'granted', undefined],
      [`user:${alice.userId}`, 'refused', 'UNKNOWN_CHALLENGE'],
      [`user:${alice.userId}`, 'refused', 'UNKNOWN_CHALLENGE']
    ])
    expect(lines.every((l) => l.action === 'login' && l.from === '127.0.0.1')).toBe(true)
    expect(api.tokens.size).toBe(1)
  })

  it('a user not held here is answered exactly as a wrong signature for one who is, replays too; only the audit line says which', async () => {
    const alice = newUser()
    const mallory = newUser()
    const stranger = newUser()
    api.userKeys.set(alice.userId, alice.sign.publicKey)
    // Asking for a challenge tells nothing either: the same answer for anyone.
    const asked = [await api.request('POST', '/v1/session/challenge', { body: { userId: alice.userId } }), await api.request('POST', '/v1/session/challenge', { body: { userId: stranger.userId } })]
    expect(asked.map((r) => [r.status, Object.keys(r.body).sort(), r.body.generation, sameHeaders(r.headers)])).toEqual([
      [200, ['challenge', 'expiresAt', 'generation'], 0, sameHeaders(asked[1]!.headers)],
      [200, ['challenge', 'expiresAt', 'generation'], 0, sameHeaders(asked[0]!.headers)]
    ])
    const login = async (body: Record<string, string>) => await api.request('POST', '/v1/session', { body })

    const c1 = await challengeFor(alice)
    const wrongSignature = await login({ userId: alice.userId, challenge: c1, signature: signed(mallory, c1) })
    const c2 = await challengeFor(stranger)
    const notHeld = await login({ userId: stranger.userId, challenge: c2, signature: signed(stranger, c2) })
    // A challenge presented again: remembered for a user held here, never for anyone else — and answered alike all the same.
    const alicesAgain = await login({ userId: alice.userId, challenge: c1, signature: signed(alice, c1) })
    const strangersAgain = await login({ userId: stranger.userId, challenge: c2, signature: signed(stranger, c2) })
    const c3 = await challengeFor(alice)
    expect((await login({ userId: alice.userId, challenge: c3, signature: signed(alice, c3) })).status).toBe(200)
    const replayedSuccess = await login({ userId: alice.userId, challenge: c3, signature: signed(alice, c3) })

    expect(wrongSignature.status).toBe(401)
    expect(wrongSignature.body).toEqual({ error: { code: 'LOGIN_REFUSED', message: expect.stringContaining(`for this node (${NODE_NAME})`) } })
    for (const answer of [notHeld, alicesAgain, strangersAgain, replayedSuccess]) {
      expect(answer.status).toBe(wrongSignature.status)
      expect(answer.body).toEqual(wrongSignature.body)
      expect(sameHeaders(answer.headers)).toEqual(sameHeaders(wrongSignature.headers))
      expect(JSON.stringify([...answer.headers]) + JSON.stringify(answer.body)).not.toMatch(/UNKNOWN_USER|UNKNOWN_CHALLENGE|not known/i)
    }
    // The node's own staff read the real reason in the audit log.
    const lines = await api.auditLines()
    expect(lines.filter((l) => l.result === 'refused').map((l) => [l.actor, l.code])).toEqual([
      [`user:${alice.userId}`, 'BAD_SIGNATURE'],
      [`user:${stranger.userId}`, 'UNKNOWN_USER'],
      [`user:${alice.userId}`, 'UNKNOWN_CHALLENGE'],
      [`user:${stranger.userId}`, 'UNKNOWN_USER'],
      [`user:${alice.userId}`, 'UNKNOWN_CHALLENGE']
    ])
  })

  it('names the generation in force: a rotated user signs once with its key, no failed login counted; a stranger is answered as one who never rotated', async () => {
    const phrase = newRecoveryPhrase()
    const [first, third] = [0, 2].map((g) => userKeysFromPhrase(phrase, crypto, g)) as [UserKeys, UserKeys]
    // The node's copy of the chain has generation 2 in force: only its key logs in.
    api.userKeys.set(first.userId, third.sign.publicKey)
    api.userGenerations.set(first.userId, 2)
    const never = newUser()
    api.userKeys.set(never.userId, never.sign.publicKey)
    const stranger = newUser()

    const ask = async (userId: string) => await api.request('POST', '/v1/session/challenge', { body: { userId } })
    const [rotated, neverRotated, unknown] = [await ask(first.userId), await ask(never.userId), await ask(stranger.userId)]
    expect(rotated.body.generation).toBe(2)
    // The stranger's answer is a never-rotated user's: the same fields, generation 0, the same headers.
    for (const answer of [neverRotated, unknown]) {
      expect([answer.status, Object.keys(answer.body).sort(), answer.body.generation]).toEqual([200, ['challenge', 'expiresAt', 'generation'], 0])
    }
    expect(sameHeaders(unknown.headers)).toEqual(sameHeaders(neverRotated.headers))

    // The CLI's login with the phrase: one challenge, signed by generation 2's key, granted.
    const session = await loginWithPhrase(new ApiClient(api.url), NODE_NAME, phrase, crypto)
    expect(session.generation).toBe(2)
    expect(session.keys.sign.publicKey).toEqual(third.sign.publicKey)
    // Every generation up to it, newest first, to open old seals.
    expect(session.all.map((k) => bytesToHex(k.box.publicKey))).toEqual([2, 1, 0].map((g) => bytesToHex(userKeysFromPhrase(phrase, crypto, g).box.publicKey)))
    expect(api.challenges.failedLogins(first.userId)).toBe(0)
    expect((await api.auditLines()).map((l) => [l.actor, l.result])).toEqual([[`user:${first.userId}`, 'granted']])
    expect(api.tokens.size).toBe(1)
  })

  it('never writes a secret to the audit log', async () => {
    const alice = newUser()
    api.userKeys.set(alice.userId, alice.sign.publicKey)
    const { apiKey } = await api.apiKeys.create('x', 'examiner')
    const staff = await api.request('POST', '/v1/session', { body: { apiKey } })
    await api.request('POST', '/v1/session', { body: { apiKey: apiKey + 'junk' } })
    const c = await challengeFor(alice)
    const signature = signed(alice, c)
    const user = await api.request('POST', '/v1/session', { body: { userId: alice.userId, challenge: c, signature } })
    await api.request('POST', '/v1/session', { body: { userId: alice.userId, challenge: c, signature } })

    const raw = Buffer.concat(await Promise.all(Array.from({ length: api.audit.length }, async (_, i) => (await api.audit.core.get(i))!))).toString('latin1')
    for (const secret of [apiKey, apiKey.slice(-43), staff.body.token, user.body.token, c, signature]) {
      expect(raw).not.toContain(secret)
    }
    expect(api.audit.length).toBe(4)
  })
})
