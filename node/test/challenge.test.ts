/**
 * User login by signed challenge: the happy path, and every refusal —
 * wrong key, another node's signature, reused, expired, another user's,
 * unknown user — with both crypto providers giving the same verdicts.
 */
import { describe, expect, it } from 'vitest'
import { fromHex, nobleProvider, type InstitutionId, type UserId } from '@healthchain/core'
import { ChallengeStore, MAX_FAILED_PER_USER, loginMessage, signLogin, type ChallengeStoreInit } from '../src/index.js'
import { crypto, expectCode, fakeClock, newUser, type TestUser } from './helpers/fixtures.js'

const NODE = 'hospital-a' as InstitutionId
const TTL = 2 * 60 * 1000

function setup (users: TestUser[], init: Partial<ChallengeStoreInit> = {}, provider = crypto) {
  const clock = fakeClock()
  const keys = new Map<UserId, Uint8Array>(users.map((u) => [u.userId, u.sign.publicKey]))
  const store = new ChallengeStore(
    { crypto: provider, lookupUserKey: (id) => keys.get(id) },
    // No floor here: the test of the floor sets one, the others would only wait.
    { node: NODE, ttlMs: TTL, now: clock.now, refusalFloorMs: 0, ...init }
  )
  return { clock, store }
}

/** A refused login: always LOGIN_REFUSED to the caller, the real reason on the error for the audit log. */
async function expectRefused (promise: Promise<unknown>, reason: 'BAD_SIGNATURE' | 'UNKNOWN_USER' | 'UNKNOWN_CHALLENGE'): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e) as { code?: string, reason?: string } | undefined
  expect(err?.code).toBe('LOGIN_REFUSED')
  expect(err?.reason).toBe(reason)
}

/** A well-formed user id nobody holds (32 base32 characters). */
function newUserId (i: number): UserId {
  return i.toString(32).padStart(32, 'a').replace(/[01890]/g, 'z') as UserId
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
      expect(store.consumedCount).toBe(1)
    })
  }

  it('LOGIN_REFUSED for a bad signature: signed by another key, or for another node', async () => {
    const alice = newUser()
    const mallory = newUser()
    const { store } = setup([alice])
    const first = store.issue(alice.userId).challenge
    await expectCode(store.verify({ ...respond(mallory, first), userId: alice.userId }), 'LOGIN_REFUSED')
    const second = store.issue(alice.userId).challenge
    await expectCode(store.verify(respond(alice, second, 'hospital-b' as InstitutionId)), 'LOGIN_REFUSED')
    // The message names the node the signature had to be for: a login signed for another node is the usual mistake.
    const again = store.issue(alice.userId).challenge
    await expect(store.verify(respond(alice, again, 'hospital-b' as InstitutionId))).rejects.toThrow(`for this node (${NODE})`)
    const third = store.issue(alice.userId).challenge
    await expectCode(store.verify({ ...respond(alice, third), signature: new Uint8Array(63) }), 'LOGIN_REFUSED')
  })

  it('UNKNOWN_CHALLENGE: expired, never issued, or issued for another user; reused (also after a failed attempt) is refused as a bad signature', async () => {
    const alice = newUser()
    const bob = newUser()
    const { clock, store } = setup([alice, bob])

    const used = store.issue(alice.userId).challenge
    await store.verify(respond(alice, used))
    await expectRefused(store.verify(respond(alice, used)), 'UNKNOWN_CHALLENGE')

    const failed = store.issue(alice.userId).challenge
    await expectRefused(store.verify({ ...respond(alice, failed), signature: new Uint8Array(64) }), 'BAD_SIGNATURE')
    await expectRefused(store.verify(respond(alice, failed)), 'UNKNOWN_CHALLENGE')

    const late = store.issue(alice.userId).challenge
    clock.advance(TTL)
    await expectCode(store.verify(respond(alice, late)), 'UNKNOWN_CHALLENGE')

    await expectCode(store.verify(respond(alice, 'ab'.repeat(32))), 'UNKNOWN_CHALLENGE')
    await expectCode(store.verify({ userId: alice.userId, challenge: 'not hex', signature: new Uint8Array(64) }), 'UNKNOWN_CHALLENGE')

    const bobs = store.issue(bob.userId).challenge
    await expectCode(store.verify(respond(alice, bobs)), 'UNKNOWN_CHALLENGE')
  })

  it('no key is known for the user: refused as a bad signature, reason UNKNOWN_USER (a challenge is issued all the same)', async () => {
    const stranger = newUser()
    const { store } = setup([])
    const issued = store.issue(stranger.userId)
    await expectRefused(store.verify(respond(stranger, issued.challenge)), 'UNKNOWN_USER')
    // Nothing is remembered for a user not known here: the same nonce again is refused for the same reason.
    await expectRefused(store.verify(respond(stranger, issued.challenge)), 'UNKNOWN_USER')
  })

  it('a key lookup that fails spends nothing: the same signed challenge logs in once the lookup works', async () => {
    const alice = newUser()
    let failing = true
    const store = new ChallengeStore(
      { crypto, lookupUserKey: async (id) => { if (failing) throw new Error('store unavailable'); return id === alice.userId ? alice.sign.publicKey : undefined } },
      { node: NODE, ttlMs: TTL }
    )
    const response = respond(alice, store.issue(alice.userId).challenge)
    await expect(store.verify(response)).rejects.toThrow('store unavailable')
    expect(store.consumedCount).toBe(0)
    failing = false
    expect(await store.verify(response)).toBe(alice.userId)
  })

  it('accepts an asynchronous key lookup', async () => {
    const alice = newUser()
    const store = new ChallengeStore(
      { crypto, lookupUserKey: async (id) => id === alice.userId ? alice.sign.publicKey : undefined },
      { node: NODE, ttlMs: TTL }
    )
    expect(await store.verify(respond(alice, store.issue(alice.userId).challenge))).toBe(alice.userId)
  })

  it('issuing keeps no state: a flood of challenges for any user ids never crowds out a real user', async () => {
    const alice = newUser()
    const { store } = setup([alice])
    for (let i = 0; i < 20_000; i++) store.issue(newUserId(i))
    expect(store.consumedCount).toBe(0)
    expect(await store.verify(respond(alice, store.issue(alice.userId).challenge))).toBe(alice.userId)
  })

  it('a nonce altered, or issued by another store (another node, or before a restart), is UNKNOWN_CHALLENGE', async () => {
    const alice = newUser()
    const { store } = setup([alice])
    const { store: other } = setup([alice])
    const issued = store.issue(alice.userId).challenge
    // The expiry pushed later, or the random part or the MAC changed: the MAC no longer matches.
    for (const at of [0, 7, 10, 31]) {
      const bytes = fromHex(issued, 32, 'challenge')
      bytes[at] = bytes[at]! ^ 1
      await expectCode(store.verify(respond(alice, Buffer.from(bytes).toString('hex'))), 'UNKNOWN_CHALLENGE')
    }
    await expectCode(store.verify(respond(alice, other.issue(alice.userId).challenge)), 'UNKNOWN_CHALLENGE')
    // Refusals before the MAC check consume nothing: the real challenge still works.
    expect(await store.verify(respond(alice, issued.toUpperCase()))).toBe(alice.userId)
  })

  it('remembers at most MAX_FAILED_PER_USER failed attempts per user and nothing for unknown users; successes until they expire', async () => {
    const alice = newUser()
    const stranger = newUser()
    const { clock, store } = setup([alice])
    const bad = new Uint8Array(64)
    for (let i = 0; i < MAX_FAILED_PER_USER + 10; i++) {
      await expectRefused(store.verify({ ...respond(alice, store.issue(alice.userId).challenge), signature: bad }), 'BAD_SIGNATURE')
    }
    expect(store.consumedCount).toBe(MAX_FAILED_PER_USER)
    for (let i = 0; i < 10; i++) await expectRefused(store.verify(respond(stranger, store.issue(stranger.userId).challenge)), 'UNKNOWN_USER')
    expect(store.consumedCount).toBe(MAX_FAILED_PER_USER)
    const good = store.issue(alice.userId).challenge
    await store.verify(respond(alice, good))
    // Failures after a success never push the success out: its replay stays refused.
    for (let i = 0; i < MAX_FAILED_PER_USER + 5; i++) {
      await expectRefused(store.verify({ ...respond(alice, store.issue(alice.userId).challenge), signature: bad }), 'BAD_SIGNATURE')
    }
    await expectRefused(store.verify(respond(alice, good)), 'UNKNOWN_CHALLENGE')
    expect(store.consumedCount).toBe(MAX_FAILED_PER_USER + 1)
    // Expired records go.
    clock.advance(TTL)
    await expectCode(store.verify(respond(alice, good)), 'UNKNOWN_CHALLENGE')
    await store.verify(respond(alice, store.issue(alice.userId).challenge))
    expect(store.consumedCount).toBe(1)
  })

  it('two concurrent attempts with one signed challenge: one logs in, the other is refused (reason UNKNOWN_CHALLENGE)', async () => {
    const alice = newUser()
    const store = new ChallengeStore(
      {
        crypto,
        lookupUserKey: async (id) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          return id === alice.userId ? alice.sign.publicKey : undefined
        }
      },
      { node: NODE, ttlMs: TTL, refusalFloorMs: 0 }
    )
    const response = respond(alice, store.issue(alice.userId).challenge)
    const results = await Promise.allSettled([store.verify(response), store.verify(response)])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason as { code: string, reason: string }).toMatchObject({ code: 'LOGIN_REFUSED', reason: 'UNKNOWN_CHALLENGE' })
  })

  it('a user not known here costs the same work as one who is: one verification (against a fixed stand-in key) and a refusal held to the same floor', async () => {
    const alice = newUser()
    const stranger = newUser()
    const clock = fakeClock()
    const verified: Uint8Array[] = []
    const counting = {
      ...crypto,
      verify: (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => {
        verified.push(publicKey)
        return crypto.verify(message, signature, publicKey)
      }
    }
    const waits: number[] = []
    const store = new ChallengeStore(
      // Reading a held user's key takes a while (a chain opened from disk); an unknown one is known at once.
      { crypto: counting, lookupUserKey: (id) => { if (id !== alice.userId) return undefined; clock.advance(30); return alice.sign.publicKey } },
      { node: NODE, ttlMs: TTL, now: clock.now, refusalFloorMs: 100, sleep: async (ms) => { waits.push(ms) } }
    )
    const bad = new Uint8Array(64).fill(1)
    const refusals: unknown[] = []
    for (const user of [alice, stranger]) {
      await store.verify({ userId: user.userId, challenge: store.issue(user.userId).challenge, signature: bad }).catch((err: unknown) => { refusals.push(err) })
    }
    expect(verified).toHaveLength(2)
    expect(verified[0]).toEqual(alice.sign.publicKey)
    expect(verified[1]).toHaveLength(32)
    expect(verified[1]).not.toEqual(stranger.sign.publicKey)
    // Both answered when the floor is reached, however long the lookup took.
    expect(waits).toEqual([70, 100])
    const [known, unknown] = refusals as Array<{ code: string, message: string, reason: string }>
    expect([known!.code, unknown!.code]).toEqual(['LOGIN_REFUSED', 'LOGIN_REFUSED'])
    expect(unknown!.message).toBe(known!.message)
    expect([known!.reason, unknown!.reason]).toEqual(['BAD_SIGNATURE', 'UNKNOWN_USER'])
  })

  it('a challenge names the generation in force: a rotated user\'s, and 0 alike for one who never rotated and one not known here, each at the floor', async () => {
    const rotated = newUser()
    const never = newUser()
    const stranger = newUser()
    const clock = fakeClock()
    const generations = new Map<UserId, number>([[rotated.userId, 9], [never.userId, 0]])
    const waits: number[] = []
    const store = new ChallengeStore({
      crypto,
      lookupUserKey: () => undefined,
      // Reading a held user's chain takes a while; an unknown one is known at once.
      lookupUserGeneration: (id) => { if (!generations.has(id)) return undefined; clock.advance(30); return generations.get(id) }
    }, { node: NODE, ttlMs: TTL, now: clock.now, refusalFloorMs: 100, sleep: async (ms) => { waits.push(ms) } })
    const answers = []
    for (const user of [rotated, never, stranger]) answers.push(await store.challenge(user.userId))
    expect(answers.map((a) => a.generation)).toEqual([9, 0, 0])
    expect(answers.map((a) => Object.keys(a).sort())).toEqual(Array(3).fill(['challenge', 'expiresAt', 'generation']))
    expect(answers.every((a) => /^[0-9a-f]{64}$/.test(a.challenge))).toBe(true)
    // Each answered when the floor is reached, however long the lookup took.
    expect(waits).toEqual([70, 70, 100])
    // Asking counts nothing against anyone.
    expect(store.consumedCount).toBe(0)

    // Without a lookup, every challenge names generation 0 at once.
    const { store: plain } = setup([rotated])
    expect((await plain.challenge(rotated.userId)).generation).toBe(0)
  })

  it('counts a user\'s failed logins; a success leaves the count as it was', async () => {
    const alice = newUser()
    const mallory = newUser()
    const { store } = setup([alice])
    let c = store.issue(alice.userId).challenge
    await expectRefused(store.verify({ ...respond(mallory, c), userId: alice.userId }), 'BAD_SIGNATURE')
    expect(store.failedLogins(alice.userId)).toBe(1)
    c = store.issue(alice.userId).challenge
    expect(await store.verify(respond(alice, c))).toBe(alice.userId)
    expect(store.failedLogins(alice.userId)).toBe(1)
    expect(store.failedLogins(mallory.userId)).toBe(0)
  })

  it('binds the node: the message starts with the domain tag and names the node', () => {
    const nonce = new Uint8Array(32).fill(7)
    const message = loginMessage(NODE, nonce)
    expect(new TextDecoder().decode(message.subarray(0, 20))).toBe('healthchain/v1/login')
    expect(message[20]).toBe(0)
    expect(message[21]).toBe(NODE.length)
    expect(message.length).toBe(21 + 1 + NODE.length + 32)
    expectCode(() => loginMessage('Not An Id' as InstitutionId, nonce), 'BAD_REQUEST')
    expectCode(() => loginMessage(NODE, nonce.subarray(1)), 'BAD_REQUEST')
  })
})
