/**
 * Restart: a ledger closed and reopened from its directory has its registry,
 * catalog, chains and entries; appends continue where they stopped, consent
 * and retries are still recognised.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildErasure, buildGrant, buildUserEntry, bytesToHex, encodeEntry, generatePartyKeys, type InstitutionId, type UserId
} from '@healthchain/core'
import { cp } from 'node:fs/promises'
import { Ledger, LedgerError, type UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, expectCode, genesisFor, link, makeConsortium, newUser, signAs, signerOf, writeExam, type TestConsortium
} from './helpers/consortium.js'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

const T0 = Date.UTC(2026, 0, 1)
const steps = (value: number) => buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value }] }, { time: T0 }, crypto)

/** Everything a ledger holds, as comparable data. */
async function snapshot (ledger: Ledger): Promise<unknown> {
  const chains: Record<string, Array<string | null>> = {}
  for (const user of [...ledger.users()].sort()) {
    const chain = await ledger.chain(user)
    const blocks: Array<string | null> = []
    for (let seq = 0; seq < chain.length; seq++) {
      const entry = await chain.get(seq)
      blocks.push(entry === null ? null : bytesToHex(encodeEntry(entry)))
    }
    chains[user] = blocks
  }
  return {
    registry: {
      key: bytesToHex(ledger.registry.key),
      length: ledger.registry.length,
      members: ledger.registry.state.institutions().map((r) => [r.id, r.role, r.status, bytesToHex(r.sign), r.since])
    },
    chainCount: ledger.chainCount,
    chains
  }
}

describe('restart', () => {
  it('reopens with registry, catalog, chains and entries; appends and retries continue correctly', async () => {
    c = await makeConsortium()
    const { hospitalA: a, hospitalB: b } = c.institutions
    await c.ledger.registry.append('suspend', { institution: c.institutions.agency.id }, c.governance.sign)

    const alice = newUser()
    const bob = newUser()
    const aliceChain = await enrol(c.ledger, alice)
    const bobChain = await enrol(c.ledger, bob)
    await writeExam(c.ledger, aliceChain, a)
    const exercised = signAs(alice, steps(1), aliceChain.key, aliceChain.length)
    await aliceChain.append(exercised, aliceChain.length)
    await appendUser(aliceChain, alice, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: aliceChain.key, userBox: alice.box }, crypto))
    const examUnsigned = examEntry(c.ledger, aliceChain, a)
    const examSeq = (await aliceChain.appendSigned(examUnsigned, signerOf(a))).seq
    await appendUser(aliceChain, alice, steps(2))
    await appendUser(aliceChain, alice, buildErasure([5], {}, crypto))
    await writeExam(c.ledger, bobChain, b)
    const before = await snapshot(c.ledger)
    const aliceLength = aliceChain.length
    expect(aliceLength).toBe(7)

    await c.ledger.close()
    const ledger = await c.reopen()
    expect(await snapshot(ledger)).toEqual(before)
    expect(ledger.users().sort()).toEqual([alice.userId, bob.userId].sort() as UserId[])

    const chain = await ledger.chain(alice.userId)
    expect(chain.length).toBe(aliceLength)
    expect(chain.userId).toBe(alice.userId)
    expect(await chain.get(5)).toBeNull()
    expect([...chain.erasedPositions]).toEqual([5])
    // Consent state is rebuilt: hospital-b is still a recipient.
    expect(chain.consent.isGranted(b.id, Date.now())).toBe(true)
    expect(chain.examRecipients(a.keys.box.publicKey).map(bytesToHex)).toContain(bytesToHex(b.keys.box.publicKey))

    // Retries of entries written before the restart are still recognised.
    expect(await chain.append(exercised, 2)).toEqual({ seq: 2, duplicate: true })
    expect(await chain.appendSigned(examUnsigned, signerOf(a))).toEqual({ seq: examSeq, duplicate: true })
    expect(chain.length).toBe(aliceLength)

    // Appends continue at the next position, from both paths.
    expect(await writeExam(ledger, chain, a)).toBe(aliceLength)
    expect((await appendUser(chain, alice, steps(3))).seq).toBe(aliceLength + 1)
    await expectCode(chain.append(signAs(alice, steps(4), chain.key, aliceLength), aliceLength), 'STALE_POSITION')
    expect(chain.length).toBe(aliceLength + 2)

    // The registry continues too, and enrolment still knows who is enrolled.
    const keys = generatePartyKeys(crypto)
    await ledger.registry.append('admit', { institution: 'hospital-c' as InstitutionId, name: 'C', role: 'examiner', sign: keys.sign.publicKey, box: keys.box.publicKey }, c.governance.sign)
    expect(ledger.registry.length).toBe(7)
    await expectCode(enrol(ledger, alice), 'ALREADY_ENROLLED')
    await enrol(ledger, newUser())
    expect(ledger.chainCount).toBe(3)

    expect(await ledger.verify(alice.userId)).toMatchObject({ valid: true, length: aliceLength + 2, erased: [5], missing: [] })
    expect((await ledger.verify(bob.userId)).valid).toBe(true)
  })

  it('survives several restarts in a row with appends in between', async () => {
    c = await makeConsortium()
    const user = newUser()
    await enrol(c.ledger, user)
    for (let round = 1; round <= 3; round++) {
      const chain = await c.ledger.chain(user.userId)
      expect(chain.length).toBe(round)
      expect((await appendUser(chain, user, steps(round))).seq).toBe(round)
      await c.ledger.close()
      await c.reopen()
    }
    expect(await c.ledger.verify(user.userId)).toMatchObject({ valid: true, length: 4, verified: 4 })
  })
})

describe('a crash during enrolment', () => {
  it('a genesis written but not yet listed is found again: the same genesis enrols, another is ALREADY_ENROLLED', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chainKey = await c.ledger.chainKeyFor(user.userId)
    const genesis = genesisFor(user, c.institutions.hospitalA.id, chainKey)
    // What a crash right after the genesis append leaves: the block, but no catalog record.
    const core = storeOf(c.ledger).get({ name: `chain/${user.userId}`, active: false })
    await core.append(encodeEntry(genesis))
    await core.close()
    expect(c.ledger.hasChain(user.userId)).toBe(false)

    const other = genesisFor(user, c.institutions.hospitalA.id, chainKey)
    await expectCode(c.ledger.enrol(other), 'ALREADY_ENROLLED')
    expect(c.ledger.hasChain(user.userId)).toBe(true)
    const chain = await c.ledger.enrol(genesis)
    expect(chain.length).toBe(1)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})

describe('concurrent enrolments', () => {
  it('the same genesis sent ten times at once enrols once and answers every copy with the chain; another genesis for the user is ALREADY_ENROLLED', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chainKey = await c.ledger.chainKeyFor(user.userId)
    const genesis = genesisFor(user, c.institutions.hospitalA.id, chainKey)
    const other = genesisFor(user, c.institutions.hospitalA.id, chainKey)
    const results = await Promise.allSettled([
      ...Array.from({ length: 10 }, async () => await c.ledger.enrol(genesis)),
      c.ledger.enrol(other)
    ])
    const chains = results.slice(0, 10).map((r) => r.status === 'fulfilled' ? r.value : r.reason)
    expect(chains.every((chain) => chain === chains[0] && chain.length === 1)).toBe(true)
    const refused = results[10]!
    expect(refused.status).toBe('rejected')
    expect(((refused as PromiseRejectedResult).reason as LedgerError).code).toBe('ALREADY_ENROLLED')
    expect(c.ledger.chainCount).toBe(1)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})

describe('replicas', () => {
  it('a second chain key for a user who already has one is refused (ALREADY_ENROLLED), and the catalog keeps the first', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    await expectCode(c.ledger.replicaOf(user.userId, new Uint8Array(32).fill(7)), 'ALREADY_ENROLLED')
    expect(c.ledger.userOfChain(chain.key)).toBe(user.userId)
    expect((await c.ledger.chain(user.userId)).key).toEqual(chain.key)
  })

  it('two chain keys of one user taken as replicas at once: the first stands, the other is ALREADY_ENROLLED, also after a restart', async () => {
    c = await makeConsortium()
    const user = newUser()
    const first = new Uint8Array(32).fill(7)
    const second = new Uint8Array(32).fill(8)
    // Two cores of one user fetched side by side both ask before either is recorded.
    const [a, b] = await Promise.allSettled([c.ledger.replicaOf(user.userId, first), c.ledger.replicaOf(user.userId, second)])
    expect(a.status).toBe('fulfilled')
    expect(b.status === 'rejected' ? (b.reason as LedgerError).code : b.status).toBe('ALREADY_ENROLLED')
    for (const when of ['now', 'after a restart']) {
      if (when !== 'now') {
        await c.ledger.close()
        await c.reopen()
      }
      expect(c.ledger.userOfChain(first), when).toBe(user.userId)
      expect(c.ledger.userOfChain(second), when).toBeUndefined()
      expect((await c.ledger.chain(user.userId)).key, when).toEqual(first)
    }
  })

  it('many replicas taken at once are recorded together, each checked against those before it, and all are there after a restart', async () => {
    c = await makeConsortium()
    const users = Array.from({ length: 100 }, () => newUser())
    const keyOf = (i: number): Uint8Array => { const key = new Uint8Array(32); new DataView(key.buffer).setUint32(0, i + 1); return key }
    const clash = new Uint8Array(32).fill(9)
    const results = await Promise.allSettled([
      ...users.map(async (user, i) => await c.ledger.replicaOf(user.userId, keyOf(i))),
      // Behind the first of its user in the same group: refused, and the group's other records are written.
      c.ledger.replicaOf(users[0]!.userId, clash),
      // The same key again: nothing new to record.
      c.ledger.replicaOf(users[1]!.userId, keyOf(1))
    ])
    expect(results.slice(0, users.length).every((r) => r.status === 'fulfilled')).toBe(true)
    const refused = results[users.length]!
    expect(refused.status === 'rejected' ? (refused.reason as LedgerError).code : refused.status).toBe('ALREADY_ENROLLED')
    expect(results[users.length + 1]!.status).toBe('fulfilled')
    for (const when of ['now', 'after a restart']) {
      if (when !== 'now') {
        await c.ledger.close()
        await c.reopen()
      }
      expect(c.ledger.chainCount, when).toBe(users.length)
      expect(c.ledger.userOfChain(clash), when).toBeUndefined()
      users.forEach((user, i) => { expect(c.ledger.userOfChain(keyOf(i)), when).toBe(user.userId) })
    }
  })

  it('concurrent ingests of one replica check each arrived block once, in order', async () => {
    c = await makeConsortium()
    const chain = await enrol(c.ledger, newUser())
    for (let i = 0; i < 5; i++) await writeExam(c.ledger, chain, c.institutions.hospitalA)
    const peer = await c.openPeer('regulator', { institution: c.institutions.regulator.id, verifyWorkers: 0 })
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      const replica = await peer.replicaOf(chain.userId!, chain.key)
      await wire.fetch(coreOf(replica), chain.length)
      const results = await Promise.all([replica.ingest(), replica.ingest(), replica.ingest()])
      expect(results.map((r) => r.problem)).toEqual([undefined, undefined, undefined])
      expect(results.reduce((sum, r) => sum + r.added, 0)).toBe(chain.length)
      expect(replica.verifiedLength).toBe(chain.length)
    } finally {
      wire.destroy()
    }
  })
})

describe('closing idle chains', () => {
  it('closes chains unused for idleMs and with nothing under way; the next chain() reopens them with their state', async () => {
    c = await makeConsortium()
    const { hospitalA: a } = c.institutions
    const alice = newUser()
    const bob = newUser()
    const aliceChain = await enrol(c.ledger, alice)
    await enrol(c.ledger, bob)
    await writeExam(c.ledger, aliceChain, a)
    await appendUser(aliceChain, alice, steps(1))
    const before = await snapshot(c.ledger)
    expect(c.ledger.openChainCount).toBe(2)

    // Used just now: nothing is idle for a minute.
    expect(await c.ledger.closeIdle(60_000)).toBe(0)
    expect(c.ledger.openChainCount).toBe(2)

    // An append under way keeps its chain open even when idleMs has passed.
    const pending = appendUser(aliceChain, alice, steps(2))
    expect(await c.ledger.closeIdle(0)).toBe(1)
    await pending
    await aliceChain.settled()
    expect(c.ledger.openChainCount).toBe(1)
    expect(await c.ledger.closeIdle(0)).toBe(1)
    expect(c.ledger.openChainCount).toBe(0)
    expect(coreOf(aliceChain).closed).toBe(true)

    // A hold (a fetch waiting on the core) keeps a chain open through an idle close, until released.
    const held = await c.ledger.chain(bob.userId)
    held.hold()
    expect(await c.ledger.closeIdle(0)).toBe(0)
    expect(coreOf(held).closed).toBe(false)
    held.release()
    expect(await c.ledger.closeIdle(0)).toBe(1)
    expect(coreOf(held).closed).toBe(true)

    // Reopened from disk with everything, and appends carry on (ids of earlier entries still recognised).
    const reopened = await c.ledger.chain(alice.userId)
    expect(reopened).not.toBe(aliceChain)
    expect(reopened.length).toBe(4)
    await appendUser(reopened, alice, steps(3))
    expect((await c.ledger.chain(alice.userId)).length).toBe(5)
    expect(c.ledger.chainCount).toBe(2)
    const after = await snapshot(c.ledger) as { chains: Record<string, unknown[]> }
    expect(after.chains[bob.userId]).toEqual((before as { chains: Record<string, unknown[]> }).chains[bob.userId])
  })
})

describe('stored lengths', () => {
  it('reads each held chain\'s key and stored length without opening it; a user not held here is undefined', async () => {
    c = await makeConsortium()
    const { hospitalA: a } = c.institutions
    const alice = newUser()
    const bob = newUser()
    const aliceChain = await enrol(c.ledger, alice)
    const bobChain = await enrol(c.ledger, bob)
    await writeExam(c.ledger, aliceChain, a)
    await appendUser(aliceChain, alice, steps(1))
    await aliceChain.settled()
    expect(await c.ledger.closeIdle(0)).toBe(2)

    const stranger = newUser()
    const stored = await c.ledger.storedLengths([alice.userId, bob.userId, stranger.userId])
    expect(c.ledger.openChainCount).toBe(0)
    expect(stored.get(alice.userId)).toEqual({ key: aliceChain.key, length: 3 })
    expect(stored.get(bob.userId)).toEqual({ key: bobChain.key, length: 1 })
    expect(stored.has(stranger.userId)).toBe(true)
    expect(stored.get(stranger.userId)).toBeUndefined()
    expect((await c.ledger.storedLengths([])).size).toBe(0)

    // What it reads is what the chains have once open.
    expect((await c.ledger.chain(alice.userId)).length).toBe(3)
  })
})

describe('visiting a chain (withChain) and watching opens', () => {
  it('closes a chain it opened when nobody asked for it meanwhile; keeps one that was open or asked for; reports every open', async () => {
    c = await makeConsortium()
    const alice = newUser()
    const bob = newUser()
    await enrol(c.ledger, alice)
    await enrol(c.ledger, bob)
    await c.ledger.closeIdle(0)
    const opened: string[] = []
    const stop = c.ledger.onChainOpened((user, chain) => { opened.push(`${user}:${chain.length}`) })

    // Opened for the visit only: closed after, and the answer is fn's.
    expect(await c.ledger.withChain(alice.userId, async (chain) => chain.length)).toBe(1)
    expect(c.ledger.openChainCount).toBe(0)
    expect(opened).toEqual([`${alice.userId}:1`])

    // Asked for by someone else while the visit ran: kept open, and usable.
    let kept: Awaited<ReturnType<Ledger['chain']>> | undefined
    await c.ledger.withChain(alice.userId, async () => { kept = await c.ledger.chain(alice.userId) })
    expect(c.ledger.openChainCount).toBe(1)
    expect(coreOf(kept!).closed).toBe(false)

    // Open before the visit: kept open.
    await c.ledger.withChain(alice.userId, async () => {})
    expect(c.ledger.openChainCount).toBe(1)

    // Asked for while the visit was still opening the chain (the same chain handed to both): kept open for the other caller.
    await c.ledger.closeIdle(0)
    const visit = c.ledger.withChain(alice.userId, async (chain) => chain.length)
    const early = await c.ledger.chain(alice.userId)
    expect(await visit).toBe(1)
    expect(coreOf(early).closed).toBe(false)
    expect((await early.get(0))?.type).toBe('genesis')
    expect(c.ledger.openChainCount).toBe(1)

    // fn's failure is the caller's; the chain is closed all the same.
    await expect(c.ledger.withChain(bob.userId, async () => { throw new Error('boom') })).rejects.toThrow('boom')
    expect(c.ledger.openChainCount).toBe(1)
    await expectCode(c.ledger.withChain(newUser().userId, async () => 0), 'UNKNOWN_CHAIN')

    // A listener that throws does not break opening; a stopped listener hears nothing more.
    const stopThrowing = c.ledger.onChainOpened(() => { throw new Error('listener') })
    await c.ledger.closeIdle(0)
    expect((await c.ledger.chain(bob.userId)).length).toBe(1)
    stopThrowing()
    stop()
    await c.ledger.closeIdle(0)
    await c.ledger.chain(alice.userId)
    expect(opened).toEqual([`${alice.userId}:1`, `${alice.userId}:1`, `${alice.userId}:1`, `${bob.userId}:1`, `${bob.userId}:1`])
  })
})

/** Waits (a turn of the event loop at a time) until `condition()` holds; fails after 5 s. */
async function until (condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('a chain whose core hypercore closed by itself', () => {
  it('is opened again on the next chain() instead of being handed out closed, and a late listener is told of the chains already open', async () => {
    c = await makeConsortium()
    const alice = newUser()
    await enrol(c.ledger, alice)
    await writeExam(c.ledger, await c.ledger.chain(alice.userId), c.institutions.hospitalA)
    const before = await c.ledger.chain(alice.userId)

    // What hypercore does to every session of a core after a `conflict`: closes it.
    await coreOf(before).close()
    await until(() => c.ledger.openChainCount === 0, 'the ledger to forget the closed chain')
    const after = await c.ledger.chain(alice.userId)
    expect(after).not.toBe(before)
    expect(coreOf(after).closed).toBe(false)
    expect(after.length).toBe(2)
    expect((await after.get(1))?.type).toBe('exam')

    // Closed by the ledger itself (closeIdle): nothing else happens, and the next chain() opens it as before.
    expect(await c.ledger.closeIdle(0)).toBe(1)
    expect(c.ledger.openChainCount).toBe(0)

    const open = await c.ledger.chain(alice.userId)
    const seen: UserChain[] = []
    const stop = c.ledger.onChainOpened((_user, chain) => { seen.push(chain) }, { alreadyOpen: true })
    await until(() => seen.length > 0, 'the open chain to be handed over')
    expect(seen).toEqual([open])
    stop()
  })
})

describe('opening a store that cannot be opened', () => {
  it('a store open elsewhere is STORE_LOCKED; a copied store is STORE_MOVED; neither changes anything', async () => {
    c = await makeConsortium()
    const dir = c.ledgerDir
    const err = await Ledger.open({ dir, verifyWorkers: 0 }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(LedgerError)
    expect((err as LedgerError).code).toBe('STORE_LOCKED')
    const length = c.ledger.registry.length

    await c.ledger.close()
    const copy = `${dir}-copy`
    await cp(dir, copy, { recursive: true })
    await expectCode(Ledger.open({ dir: copy, verifyWorkers: 0 }), 'STORE_MOVED')
    // The original opens as before, with its registry.
    const again = await c.reopen()
    expect(again.registry.length).toBe(length)
  })
})
