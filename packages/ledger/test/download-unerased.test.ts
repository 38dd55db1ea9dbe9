/**
 * A replica's download of a range whose erased blocks no peer has
 * (src/download-unerased.ts): it is done once every other block arrived and
 * an erasure among them names the rest. Blocks are looked at in storage
 * batches, and only those that may be erasures (their bytes carry the type
 * `erasure` as canonical CBOR writes it) are decoded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import {
  buildErasure, buildGrant, buildRevoke, buildUserEntry, decodeEntry, encodeEntry, ENTRY_TYPES, type UserKeys
} from '@healthchain/core'
import { isLedgerError, type UserChain } from '../src/index.js'
import { downloadUnerased, mayBeErasure } from '../src/download-unerased.js'
import {
  appendUser, crypto, enrol, link, makeConsortium, newUser, samplePlain, signAs, waitForLength, within, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain
const T0 = Date.UTC(2026, 0, 1)
const ERASED = [5, 100, 250]
/** Where the erasure of ERASED stands. */
let erasureAt = 0

beforeAll(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  const { hospitalA: a, hospitalB: b } = c.institutions
  for (let i = 0; i < 300; i++) await writeExam(c.ledger, chain, a)
  // An exam whose title is the text "erasure" (written as the type is): its block carries the mark, and names nothing.
  await writeExam(c.ledger, chain, a, { plain: { ...samplePlain, title: 'erasure' } })
  // Only a text of exactly that word is written so: within a longer text the word has no mark before it.
  await writeExam(c.ledger, chain, a, { plain: { ...samplePlain, title: 'erasure of a wart' } })
  await appendUser(chain, user, buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 10 }] }, { time: T0 }, crypto))
  await appendUser(chain, user, buildUserEntry('location', { points: [{ lat: 1, lon: 2, acc: 3, time: T0 }] }, { time: T0 }, crypto))
  await appendUser(chain, user, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box }, crypto))
  await appendUser(chain, user, buildRevoke(b.id, {}, crypto))
  erasureAt = chain.length
  await appendUser(chain, user, buildErasure(ERASED, {}, crypto))
  for (let i = 0; i < 20; i++) await writeExam(c.ledger, chain, a)
}, 120_000)
afterAll(async () => { await c.cleanup() })

describe('which blocks may be erasures', () => {
  it('every erasure entry carries the mark, whatever it names; no entry of another type does, but for a text that is exactly "erasure"', async () => {
    const types = new Map<string, number>()
    for (let seq = 0; seq < chain.length; seq++) {
      const block = await coreOf(chain).get(seq, { wait: false })
      if (block === null) continue
      const entry = decodeEntry(block)
      types.set(entry.type, (types.get(entry.type) ?? 0) + 1)
      const saysErasure = entry.type === 'exam' && entry.plain.title === 'erasure'
      expect(mayBeErasure(block), `${entry.type} at ${seq}`).toBe(entry.type === 'erasure' || saysErasure)
    }
    // The chain holds every type a user chain gets in ordinary use (genesis, exam, exercise, location, consent, erasure).
    expect([...types.keys()].sort()).toEqual(ENTRY_TYPES.filter((t) => !['migrate', 'rekey'].includes(t)).sort())
    for (let n = 0; n < 200; n++) {
      const targets = Array.from({ length: 1 + (n % 40) }, (_, i) => 1 + i * (n + 1) * 7919)
      const erasure = signAs(user, buildErasure(targets, {}, crypto), chain.key, n + 1)
      expect(mayBeErasure(encodeEntry(erasure))).toBe(true)
    }
  })

  it('the mark is the word as canonical CBOR writes a text of 7 bytes, not the word alone', () => {
    expect(mayBeErasure(new TextEncoder().encode('no CBOR here, just the word erasure'))).toBe(false)
    expect(mayBeErasure(new Uint8Array([0x67, ...new TextEncoder().encode('erasure')]))).toBe(true)
  })
})

describe('downloadUnerased', () => {
  /** A replica of the chain on a fresh peer, knowing the whole length (no block fetched yet), and the wire to hospital-a. */
  const replicaKnowingLength = async (name: string): Promise<{ core: ReturnType<typeof coreOf>, replica: UserChain, wire: ReturnType<typeof link> }> => {
    const peer = await c.openPeer(name, { institution: c.institutions.hospitalB.id, verifyWorkers: 0 })
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
    const replica = await peer.replicaOf(user.userId, chain.key)
    const core = coreOf(replica)
    core.replicate(wire.responder)
    await waitForLength(core, chain.length)
    return { core, replica, wire }
  }

  /** The positions below `end` the core does not hold. */
  const absentBelow = async (core: ReturnType<typeof coreOf>, end: number): Promise<number[]> => {
    const absent: number[] = []
    for (let seq = 0; seq < end; seq++) if (await core.get(seq, { wait: false }) === null) absent.push(seq)
    return absent
  }

  it('finishes a range whose erased blocks no peer has, finding the erasure among the blocks that arrived', async () => {
    for (const seq of ERASED) expect(await coreOf(chain).get(seq, { wait: false })).toBeNull()
    const { core, replica, wire } = await replicaKnowingLength('hospital-b')
    try {
      await within(downloadUnerased(core, 0, chain.length), 20_000, 'download of the unerased blocks')
      expect(await absentBelow(core, chain.length)).toEqual(ERASED)
      const result = await replica.ingest()
      expect(result.problem).toBeUndefined()
      expect(replica.verifiedLength).toBe(chain.length)
    } finally {
      wire.destroy()
    }
  })

  it('rejects (CLOSED) when the core is closed mid-download, rather than resolving with the range not here', async () => {
    const { core, wire } = await replicaKnowingLength('hospital-b-closed')
    // No peer any more: no block of the range arrives.
    wire.destroy()
    const session = core.session()
    await session.ready()
    const download = downloadUnerased(session, 0, chain.length)
    const settled = download.then(() => 'resolved', (err: unknown) => err)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await session.close()
    const outcome = await within(settled, 5000, 'the download to settle after the close')
    expect(await core.get(1, { wait: false })).toBeNull()
    expect(isLedgerError(outcome, 'CLOSED'), String(outcome)).toBe(true)
  })

  it('finishes a range when the erasure naming its missing blocks stands after it and is already here', async () => {
    const { core, wire } = await replicaKnowingLength('hospital-b-after-here')
    try {
      await within(core.download({ start: erasureAt, end: chain.length }).done(), 10_000, 'the blocks after the range')
      await within(downloadUnerased(core, 0, erasureAt), 10_000, 'download of the unerased blocks before the erasure')
      expect(await absentBelow(core, erasureAt)).toEqual(ERASED)
    } finally {
      wire.destroy()
    }
  })
})
