/**
 * The entries a custodian appended last are read back from memory
 * (recent-entries.ts), and that changes nothing a reader can see: the
 * entry read is the stored block's, byte for byte and field for field, a block cleared underneath
 * still reads as missing, an erased one as erased, and after a reopen the
 * same entries come from disk. The cache itself stays within its bound.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildUserEntry, decodeEntry, encodeEntry, equal, type Entry, type UserKeys } from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import { RecentEntries } from '../src/recent-entries.js'
import { appendUser, crypto, enrol, makeConsortium, newUser, writeExam, type TestConsortium } from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain

const T0 = Date.UTC(2026, 0, 1)

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
})
afterEach(async () => { await c.cleanup() })

async function storedBlock (seq: number): Promise<Uint8Array | null> {
  return await coreOf(chain).get(seq, { wait: false })
}

describe('entries just appended', () => {
  it('read back as the stored blocks, byte for byte, before and after a reopen', async () => {
    const seqs = [await writeExam(c.ledger, chain, c.institutions.hospitalA), await writeExam(c.ledger, chain, c.institutions.hospitalA)]
    const exercise = buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 10 }] }, { time: T0 }, crypto)
    seqs.push((await appendUser(chain, user, exercise)).seq)
    const fromMemory: Entry[] = []
    for (const seq of seqs) {
      const entry = (await chain.get(seq))!
      expect(equal(encodeEntry(entry), (await storedBlock(seq))!)).toBe(true)
      // Not only the same encoding: the same object a storage read decodes, field for field (readers serve it as it is).
      expect(entry).toStrictEqual(decodeEntry((await storedBlock(seq))!))
      fromMemory.push(entry)
    }
    const read = await chain.read({ start: seqs[0] })
    expect(read.map((e) => e.seq)).toEqual(seqs)

    await c.ledger.close()
    const ledger = await c.reopen()
    const reopened = await ledger.chain(user.userId)
    for (const [i, seq] of seqs.entries()) expect(encodeEntry((await reopened.get(seq))!)).toEqual(encodeEntry(fromMemory[i]!))
  })

  it('a block cleared underneath reads as missing, an erased one as erased, though both were just appended', async () => {
    const first = await writeExam(c.ledger, chain, c.institutions.hospitalA)
    const second = await writeExam(c.ledger, chain, c.institutions.hospitalA)
    expect(await chain.get(first)).not.toBeNull()
    await coreOf(chain).clear(first)
    expect(await chain.get(first)).toBeNull()

    await appendUser(chain, user, buildErasure([second], {}, crypto))
    expect(await chain.get(second)).toBeNull()
    expect((await chain.read()).map((e) => e.seq)).not.toContain(second)
  })
})

describe('RecentEntries', () => {
  const entry = new Uint8Array([1, 2, 3])
  const batch = (from: number, count: number): Array<{ seq: number, block: Uint8Array }> =>
    Array.from({ length: count }, (_, i) => ({ seq: from + i, block: entry }))

  it('keeps at most its capacity, oldest out first, but always the newest batch whole', () => {
    const recent = new RecentEntries(4)
    recent.add(batch(1, 3))
    recent.add(batch(4, 2))
    expect(recent.size).toBe(4)
    expect(recent.get(1)).toBeUndefined()
    expect(recent.get(2)).toBe(entry)
    recent.add(batch(6, 6))
    expect(recent.size).toBe(6)
    expect(recent.get(5)).toBeUndefined()
    expect(recent.get(11)).toBe(entry)
    recent.forget([6, 7])
    expect(recent.get(6)).toBeUndefined()
    recent.clear()
    expect(recent.size).toBe(0)
  })
})
