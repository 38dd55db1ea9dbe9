/**
 * User login by signed challenge: the happy path, and every refusal —
 * wrong key, another node's signature, reused, expired, another user's,
 * unknown user — with both crypto providers giving the same verdicts.
 */
import { describe, expect, it } from 'vitest'
import { fromHex, nobleProvider, type InstitutionId, type UserId } from '@healthchain/core'
import { ChallengeStore, loginMessage, signLogin, type ChallengeStoreInit } from '../src/index.js'
import { crypto, expectCode, expectThrowsCode, fakeClock, newUser, type TestUser } from './helpers/fixtures.js'

const NODE = 'hospital-a' as InstitutionId
const TTL = 2 * 60 * 1000

function setup (users: TestUser[], init: Partial<ChallengeStoreInit> = {}, provider = crypto) {
  const clock = fakeClock()
  const keys = new Map<UserId, Uint8Array>(users.map((u) => [u.userId, u.sign.publicKey]))
  const store = new ChallengeStore(
    { crypto: provider, lookupUserKey: (id) => keys.get(id) },
    { node: NODE, ttlMs: TTL, now: clock.now, ...init }
  )
  return { clock, store }
}

function respond (user: TestUser, challenge: string, node = NODE) {
  return { userId: user.userId, challenge, signature: signLogin(node, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto) }
}

describe('login challenge', () => {
  for (const provider of [crypto, nobleProvider]) {
    it(`logs a user in with a signed challenge (${provider.name})`, async () => {
      const alice = newUser()
      const { clock, store } = setup([alice], {}, provider)
      const issued = store.issue(alice.userId)
      expect(issued.challenge).toMatch(/^[0-9a-f]{64}$/)
      expect(issued.expiresAt).toBe(clock.now() + TTL)
      expect(await store.verify(respond(alice, issued.challenge))).toBe(alice.userId)
      expect(store.outstanding).toBe(0)
    })
  }

  it('BAD_SIGNATURE: signed by another key, or for another node', async () => {
    const alice = newUser()
    const mallory = newUser()
    const { store } = setup([alice])
    const first = store.issue(alice.userId).challenge
    await expectCode(store.verify({ ...respond(mallory, first), userId: alice.userId }), 'BAD_SIGNATURE')
    const second = store.issue(alice.userId).challenge
    await expectCode(store.verify(respond(alice, second, 'hospital-b' as InstitutionId)), 'BAD_SIGNATURE')
    // The message names the node the signature had to be for: a login signed for another node is the usual mistake.
    const again = store.issue(alice.userId).challenge
    await expect(store.verify(respond(alice, again, 'hospital-b' as InstitutionId))).rejects.toThrow(`for this node (${NODE})`)
    const third = store.issue(alice.userId).challenge
    await expectCode(store.verify({ ...respond(alice, third), signature: new Uint8Array(63) }), 'BAD_SIGNATURE')
  })

  it('UNKNOWN_CHALLENGE: reused (also after a failed attempt), expired, never issued, or issued for another user', async () => {
    const alice = newUser()
    const bob = newUser()
    const { clock, store } = setup([alice, bob])

    const used = store.issue(alice.userId).challenge
    await store.verify(respond(alice, used))
    await expectCode(store.verify(respond(alice, used)), 'UNKNOWN_CHALLENGE')

    const failed = store.issue(alice.userId).challenge
    await expectCode(store.verify({ ...respond(alice, failed), signature: new Uint8Array(64) }), 'BAD_SIGNATURE')
    await expectCode(store.verify(respond(alice, failed)), 'UNKNOWN_CHALLENGE')

    const late = store.issue(alice.userId).challenge
    clock.advance(TTL)
    await expectCode(store.verify(respond(alice, late)), 'UNKNOWN_CHALLENGE')

    await expectCode(store.verify(respond(alice, 'ab'.repeat(32))), 'UNKNOWN_CHALLENGE')
    await expectCode(store.verify({ userId: alice.userId, challenge: 'not hex', signature: new Uint8Array(64) }), 'UNKNOWN_CHALLENGE')

    const bobs = store.issue(bob.userId).challenge
    await expectCode(store.verify(respond(alice, bobs)), 'UNKNOWN_CHALLENGE')
  })

  it('UNKNOWN_USER: no key is known for the user (a challenge is issued all the same)', async () => {
    const stranger = newUser()
    const { store } = setup([])
    const issued = store.issue(stranger.userId)
    await expectCode(store.verify(respond(stranger, issued.challenge)), 'UNKNOWN_USER')
  })

  it('accepts an asynchronous key lookup', async () => {
    const alice = newUser()
    const store = new ChallengeStore(
      { crypto, lookupUserKey: async (id) => id === alice.userId ? alice.sign.publicKey : undefined },
      { node: NODE, ttlMs: TTL }
    )
    expect(await store.verify(respond(alice, store.issue(alice.userId).challenge))).toBe(alice.userId)
  })

  it('TOO_MANY_CHALLENGES when the table is full; expired ones make room', () => {
    const alice = newUser()
    const { clock, store } = setup([alice], { maxOutstanding: 2 })
    store.issue(alice.userId)
    store.issue(alice.userId)
    expectThrowsCode(() => store.issue(alice.userId), 'TOO_MANY_CHALLENGES')
    clock.advance(TTL)
    expect(store.issue(alice.userId).challenge).toMatch(/^[0-9a-f]{64}$/)
    expect(store.outstanding).toBe(1)
  })

  it('binds the node: the message starts with the domain tag and names the node', () => {
    const nonce = new Uint8Array(32).fill(7)
    const message = loginMessage(NODE, nonce)
    expect(new TextDecoder().decode(message.subarray(0, 20))).toBe('healthchain/v1/login')
    expect(message[20]).toBe(0)
    expect(message[21]).toBe(NODE.length)
    expect(message.length).toBe(21 + 1 + NODE.length + 32)
    expectThrowsCode(() => loginMessage('Not An Id' as InstitutionId, nonce), 'BAD_REQUEST')
    expectThrowsCode(() => loginMessage(NODE, nonce.subarray(1)), 'BAD_REQUEST')
  })
})
