/**
 * The duplicate check of an open chain keeps at most `idsInMemory` entry ids
 * in memory (the rest in the chain's id index on disk), and a retry of any
 * entry, however old, is still recognised and never appended twice: while
 * the chain is open, after a restart, after an idle close, after a SIGKILL
 * between the append and the index write, and on a replica, whose check
 * refuses a block reusing an id far older than the bound.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildUserEntry, bytesToHex, encodeEntry, type Entry } from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, expectCode, link, makeConsortium, newUser, signAs, signerOf, writeExam, type TestConsortium
} from './helpers/consortium.js'
import { killWriterAfter } from './helpers/crash-writer.js'

const BOUND = 4
const T0 = Date.UTC(2026, 0, 1)

let c: TestConsortium | undefined
afterEach(async () => { await c?.cleanup() })

/** The stored entries at positions 1..length-1 (every exam written). */
async function storedEntries (chain: UserChain): Promise<Entry[]> {
  const out: Entry[] = []
  for (let seq = 1; seq < chain.length; seq++) out.push((await chain.get(seq))!)
  return out
}

/**
 * Finds each stored entry's id at its position (findId: a retry's lookup), then appends each again, signed for the
 * next position as a retry after STALE_POSITION is: each is a duplicate.
 */
async function expectAllRecognised (chain: UserChain, entries: readonly Entry[]): Promise<void> {
  const length = chain.length
  for (const [i, entry] of entries.entries()) expect(await chain.findId(entry.id)).toBe(i + 1)
  expect(await chain.findId(crypto.randomBytes(16)), 'an id never written').toBeUndefined()
  for (const [i, entry] of entries.entries()) {
    expect(await chain.append(entry, i + 1)).toEqual({ seq: i + 1, duplicate: true })
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
  }
  expect(chain.length).toBe(length)
}

describe('entry ids kept in memory are bounded', () => {
  it('writing far past the bound keeps at most the bound in memory; a retry of the oldest entry is recognised, a reuse of its id refused', async () => {
    c = await makeConsortium({ idsInMemory: BOUND })
    const a = c.institutions.hospitalA
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const oldest = examEntry(c.ledger, chain, a)
    expect(await chain.appendSigned(oldest, signerOf(a))).toEqual({ seq: 1, duplicate: false })
    for (let i = 0; i < 11; i++) {
      await writeExam(c.ledger, chain, a)
      expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    }
    // Batches from concurrent writers: each batch is at most the bound, and the written ids go to disk before the next.
    await Promise.all(Array.from({ length: 40 }, async () => await writeExam(c!.ledger, chain, a)))
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    expect(chain.length).toBe(53)

    const entries = await storedEntries(chain)
    await expectAllRecognised(chain, entries)
    // The custodian's own signing path: the same unsigned entry again is the same entry.
    expect(await chain.appendSigned(oldest, signerOf(a))).toEqual({ seq: 1, duplicate: true })
    // Another entry under the oldest id: refused, nothing written.
    await expectCode(writeExam(c.ledger, chain, a, { id: oldest.id }), 'DUPLICATE_ENTRY')
    expect(chain.length).toBe(53)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })

  it('after an idle close and after a restart, every old entry is still recognised', async () => {
    c = await makeConsortium({ idsInMemory: BOUND })
    const a = c.institutions.hospitalA
    const user = newUser()
    let chain = await enrol(c.ledger, user)
    for (let i = 0; i < 20; i++) await writeExam(c.ledger, chain, a)
    const entries = await storedEntries(chain)

    expect(await c.ledger.closeIdle(0)).toBe(1)
    chain = await c.ledger.chain(user.userId)
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    await expectAllRecognised(chain, entries)

    await c.ledger.close()
    const ledger = await c.reopen()
    chain = await ledger.chain(user.userId)
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    await expectAllRecognised(chain, entries)
    await expectCode(writeExam(ledger, chain, a, { id: entries[0]!.id }), 'DUPLICATE_ENTRY')
    expect(await writeExam(ledger, chain, a)).toBe(21)
  })

  it('an erased entry\'s id, far older than the bound, is still refused after a restart (its block is gone, its id is on disk)', async () => {
    c = await makeConsortium({ idsInMemory: BOUND })
    const a = c.institutions.hospitalA
    const user = newUser()
    let chain = await enrol(c.ledger, user)
    const walk = buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 10 }] }, { time: T0 }, crypto)
    const signed = signAs(user, walk, chain.key, 1)
    expect(await chain.append(signed, 1)).toEqual({ seq: 1, duplicate: false })
    for (let i = 0; i < 10; i++) await writeExam(c.ledger, chain, a)
    expect((await appendUser(chain, user, buildErasure([1], {}, crypto))).seq).toBe(12)
    expect(await chain.get(1)).toBeNull()
    await c.ledger.close()
    const ledger = await c.reopen()
    chain = await ledger.chain(user.userId)
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    await expectCode(chain.append(signAs(user, walk, chain.key, 13), 13), 'DUPLICATE_ENTRY')
    expect(chain.length).toBe(13)
  })

  it('after a SIGKILL between appends and the index write, every acknowledged entry is recognised after reopening', async () => {
    c = await makeConsortium({ idsInMemory: BOUND, verifyWorkers: 0 })
    const user = newUser()
    await enrol(c.ledger, user)
    await c.ledger.close()

    const signKey = c.institutions.hospitalA.keys.sign.secretKey
    const { acked } = await killWriterAfter(c.ledgerDir, user.userId, signKey, 60, { HC_TEST_IDS_IN_MEMORY: String(BOUND) })
    const ledger = await c.reopen()
    const chain = await ledger.chain(user.userId)
    expect(chain.length).toBeGreaterThan(Math.max(...acked))
    expect(chain.idsInMemory).toBeLessThanOrEqual(BOUND)
    // Every block written, acknowledged or not (the newest ones were only in the killed process's memory): a retry is a duplicate.
    await expectAllRecognised(chain, await storedEntries(chain))
    expect((await ledger.verify(user.userId)).valid).toBe(true)
  })

  it('a replica with a tiny bound refuses a block reusing an id from far before the bound, also after it restarts', async () => {
    c = await makeConsortium()
    const a = c.institutions.hospitalA
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    for (let i = 0; i < 12; i++) await writeExam(c.ledger, chain, a)
    const first = (await chain.get(1))!
    // A lying custodian appends, past every rule, a new exam under the first one's id.
    const reused = signAs(a, examEntry(c.ledger, chain, a, { id: first.id }), chain.key, chain.length)
    await coreOf(chain).append(encodeEntry(reused))
    const length = coreOf(chain).length

    const peerOpts = { institution: c.institutions.regulator.id, verifyWorkers: 0, idsInMemory: BOUND }
    let peer = await c.openPeer('regulator', peerOpts)
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      const replica = await peer.replicaOf(user.userId, chain.key)
      await wire.fetch(coreOf(replica), length)
      const result = await replica.ingest()
      expect(result.problem).toMatchObject({ seq: length - 1, code: 'DUPLICATE_ENTRY' })
      expect(replica.verifiedLength).toBe(length - 1)
      expect(replica.idsInMemory).toBeLessThanOrEqual(BOUND)
      // A retry's lookup on the replica finds the first exam's id where it was verified, not the refused block's.
      expect(await replica.findId(first.id)).toBe(1)
    } finally {
      wire.destroy()
    }
    await peer.close()
    peer = await c.openPeer('regulator', peerOpts)
    const reopened = await peer.replicaOf(user.userId, chain.key)
    expect(reopened.verifiedLength).toBe(length - 1)
    expect((await reopened.ingest()).problem).toMatchObject({ seq: length - 1, code: 'DUPLICATE_ENTRY' })
    expect(bytesToHex((await reopened.get(1))!.id)).toBe(bytesToHex(first.id))
    expect(await reopened.findId(first.id)).toBe(1)
  })
})
