/**
 * Erasure: the user's erasure entry clears the named entries' data here, the
 * chain still verifies and says what was erased; a block gone without an
 * erasure is reported as missing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, buildUserEntry, decodeBlock, encodeEntry, type UserKeys } from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, makeConsortium, newUser, signAs, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain

const T0 = Date.UTC(2026, 0, 1)

/** 1 exam, 2 exercise, 3 location, 4 exam, 5 exercise. */
beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  await writeExam(c.ledger, chain, c.institutions.hospitalA)
  await appendUser(chain, user, buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 10 }] }, { time: T0 }, crypto))
  await appendUser(chain, user, buildUserEntry('location', { points: [{ lat: 1, lon: 2, acc: 3, time: T0 }] }, { time: T0 }, crypto))
  await writeExam(c.ledger, chain, c.institutions.hospitalA)
  await appendUser(chain, user, buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 20 }] }, { time: T0 }, crypto))
})
afterEach(async () => { await c.cleanup() })

describe('erasure', () => {
  it('clears the named entries: get() is null, read() leaves them out, verify() is valid and lists them as erased', async () => {
    const { seq } = await appendUser(chain, user, buildErasure([1, 3], {}, crypto))
    expect(seq).toBe(6)
    expect(await chain.get(1)).toBeNull()
    expect(await chain.get(3)).toBeNull()
    expect(await coreOf(chain).has(1)).toBe(false)
    expect((await chain.get(2))?.type).toBe('exercise')
    expect([...chain.erasedPositions].sort()).toEqual([1, 3])
    expect((await chain.read()).map((p) => p.seq)).toEqual([2, 4, 5, 6])
    expect((await chain.read({ types: ['exam'] })).map((p) => p.seq)).toEqual([4])
    expect(chain.length).toBe(7)

    const report = await c.ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, length: 7, erased: [1, 3], missing: [], problems: [] })
    expect(report.verified).toBe(5)
    expect(report.tree.ok).toBe(true)

    // A later erasure adds to the earlier one.
    await appendUser(chain, user, buildErasure([5], {}, crypto))
    expect((await c.ledger.verify(user.userId))).toMatchObject({ valid: true, erased: [1, 3, 5], missing: [] })
  })

  it('readBlocks gives the stored bytes of what read() gives, erased blocks left out, within the chain', async () => {
    await appendUser(chain, user, buildErasure([1, 3], {}, crypto))
    const blocks = await chain.readBlocks(0, chain.length)
    expect(blocks.map((b) => b.seq)).toEqual([0, 2, 4, 5, 6])
    const read = await chain.read({ start: 0 })
    expect(blocks.map((b) => decodeBlock(b.block).entry)).toEqual(read.map((p) => p.entry))
    expect(blocks.map((b) => Buffer.from(b.block).equals(encodeEntry(read.find((p) => p.seq === b.seq)!.entry)))).toEqual([true, true, true, true, true])
    expect((await chain.readBlocks(5, 1000)).map((b) => b.seq)).toEqual([5, 6])
    expect(await chain.readBlocks(3, 4)).toEqual([])
    // maxBytes: it stops after the block that reaches it, erased ones still left out.
    expect((await chain.readBlocks(0, chain.length, { maxBytes: 1 })).map((b) => b.seq)).toEqual([0])
    const firstTwo = blocks[0]!.block.byteLength + blocks[1]!.block.byteLength
    expect((await chain.readBlocks(0, chain.length, { maxBytes: firstTwo })).map((b) => b.seq)).toEqual([0, 2])
    expect((await chain.readBlocks(0, chain.length, { maxBytes: firstTwo + 1 })).map((b) => b.seq)).toEqual([0, 2, 4])
  })

  it('stays erased, and the chain stays valid, after a restart', async () => {
    await appendUser(chain, user, buildErasure([2, 4], {}, crypto))
    await c.ledger.close()
    const ledger = await c.reopen()
    const reopened = await ledger.chain(user.userId)
    expect(await reopened.get(2)).toBeNull()
    expect(await reopened.get(4)).toBeNull()
    expect((await reopened.read()).map((p) => p.seq)).toEqual([1, 3, 5, 6])
    const report = await ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, erased: [2, 4], missing: [], problems: [] })
    expect(report.tree.ok).toBe(true)
  })

  it('finishes, on reopen, an erasure whose targets a crash left uncleared', async () => {
    // The erasure block is on disk but nothing cleared its target (as if the process died in between).
    const seq = chain.length
    const erasure = signAs(user, buildErasure([2], {}, crypto), chain.key, seq)
    await coreOf(chain).append(encodeEntry(erasure))
    expect(await coreOf(chain).has(2)).toBe(true)
    await c.ledger.close()

    const ledger = await c.reopen()
    const reopened = await ledger.chain(user.userId)
    expect(reopened.length).toBe(seq + 1)
    expect(await reopened.get(2)).toBeNull()
    expect(await ledger.verify(user.userId)).toMatchObject({ valid: true, erased: [2], missing: [] })
  })

  it('reports a block missing without an erasure in `missing`, invalid with MISSING_BLOCK', async () => {
    await coreOf(chain).clear(3)
    expect(await chain.get(3)).toBeNull()
    const report = await c.ledger.verify(user.userId)
    expect(report.valid).toBe(false)
    expect(report.missing).toEqual([3])
    expect(report.erased).toEqual([])
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: 3, code: 'MISSING_BLOCK' }))

    // An erasure appended afterwards explains it.
    await appendUser(chain, user, buildErasure([3], {}, crypto))
    const after = await c.ledger.verify(user.userId)
    expect(after.missing).toEqual([])
    expect(after.erased).toEqual([3])
  })
})
