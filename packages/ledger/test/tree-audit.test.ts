/**
 * The tree audit of verifyChain (src/tree-audit.ts, src/merkle.ts): blocks on
 * disk re-proven against the custodian's signed head. This file reaches into
 * hypercore 11.37.1's storage (hypercore-storage 3.3: `state.storage.write()`
 * → `putBlock` / `flush`) to damage blocks the way a disk or an operator
 * could; if an upgrade moves those internals, it fails here first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildUserEntry, encodeEntry, type UnsignedEntry, type UserKeys } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { verifyChain, type UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, makeConsortium, newUser, overwriteBlock, signAs, within, writeExam,
  type TestConsortium, signerOf
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain

const T0 = Date.UTC(2026, 0, 1)
function steps (value: number): UnsignedEntry {
  return buildUserEntry('exercise', { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value }] }, { time: T0 }, crypto)
}

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  await writeExam(c.ledger, chain, c.institutions.hospitalA)
  await appendUser(chain, user, steps(1))
  await writeExam(c.ledger, chain, c.institutions.hospitalA)
  await appendUser(chain, user, steps(2))
})
afterEach(async () => { await c.cleanup() })

const codes = (problems: ReadonlyArray<{ code: string }>): string[] => [...new Set(problems.map((p) => p.code))].sort()

describe('tree audit', () => {
  it('passes an untouched chain, every block checked', async () => {
    const report = await c.ledger.verify(user.userId)
    expect(report.tree).toEqual({ ok: true, blocksChecked: 5, problem: undefined })
    expect(report).toMatchObject({ valid: true, length: 5, verified: 5, problems: [] })
  })

  it('reports TREE_MISMATCH for a block whose bytes were changed on disk', async () => {
    const original = (await coreOf(chain).get(3, { wait: false }))!
    const damaged = new Uint8Array(original)
    damaged[damaged.length - 1]! ^= 0x01 // one bit of the author's signature
    await overwriteBlock(coreOf(chain), 3, damaged)
    expect(Buffer.from((await coreOf(chain).get(3, { wait: false }))!).equals(Buffer.from(damaged))).toBe(true)

    const report = await c.ledger.verify(user.userId)
    expect(report.valid).toBe(false)
    expect(report.tree.ok).toBe(false)
    expect(report.tree.problem).toBeTypeOf('string')
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: undefined, code: 'TREE_MISMATCH' }))
    // The flipped bit also breaks the author's signature on that block.
    expect(codes(report.problems)).toEqual(['BAD_SIGNATURE', 'TREE_MISMATCH'])
  })

  it('catches a swapped block that is itself a validly signed entry for that slot: only the tree can', async () => {
    // The user signed two different entries for position 4; the custodian stored one and swaps in the other.
    const alternative = signAs(user, steps(999), chain.key, 4)
    await overwriteBlock(coreOf(chain), 4, encodeEntry(alternative))

    const report = await c.ledger.verify(user.userId)
    expect(report.valid).toBe(false)
    expect(report.verified).toBe(5) // every entry, alone, passes the rules
    expect(report.problems).toEqual([expect.objectContaining({ seq: undefined, code: 'TREE_MISMATCH' })])
  })

  it('still opens and reports a damaged chain after a restart (it does not throw)', async () => {
    await overwriteBlock(coreOf(chain), 2, new Uint8Array([0xff, 0x00, 0x13]))
    await c.ledger.close()
    const ledger = await c.reopen()
    const report = await ledger.verify(user.userId)
    expect(report.valid).toBe(false)
    expect(codes(report.problems)).toEqual(['MALFORMED', 'TREE_MISMATCH'])
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: 2, code: 'MALFORMED' }))
  })

  it('does not hang when the LAST block of a chain is cleared', async () => {
    const last = chain.length - 1
    await coreOf(chain).clear(last)
    const report = await within(c.ledger.verify(user.userId), 5000, 'verify with the last block cleared')
    expect(report.valid).toBe(false)
    expect(report.length).toBe(5)
    expect(report.missing).toEqual([last])
    expect(report.problems).toContainEqual(expect.objectContaining({ seq: last, code: 'MISSING_BLOCK' }))
  })
})

describe('chains longer than one verification window', () => {
  it('verifies the same with worker threads and inline; damage in a later window is found by both', async () => {
    const a = c.institutions.hospitalA
    const exams = Array.from({ length: 600 }, () => examEntry(c.ledger, chain, a))
    await Promise.all(exams.map(async (u) => await chain.appendSigned(u, signerOf(a))))
    expect(chain.length).toBe(605)

    const pooled = await c.ledger.verify(user.userId)
    const inline = await verifyChain(coreOf(chain), c.ledger.registry.state, sodiumProvider)
    expect(pooled).toMatchObject({ valid: true, verified: 605, problems: [] })
    expect(pooled.tree).toEqual({ ok: true, blocksChecked: 605, problem: undefined })
    expect(inline).toEqual(pooled)

    const block = (await coreOf(chain).get(580, { wait: false }))!
    const damaged = new Uint8Array(block)
    damaged[damaged.length - 1]! ^= 0x80
    await overwriteBlock(coreOf(chain), 580, damaged)
    const pooledBad = await c.ledger.verify(user.userId)
    const inlineBad = await verifyChain(coreOf(chain), c.ledger.registry.state, sodiumProvider)
    expect(pooledBad.valid).toBe(false)
    expect(pooledBad.problems).toContainEqual(expect.objectContaining({ seq: 580, code: 'BAD_SIGNATURE' }))
    expect(pooledBad.problems).toContainEqual(expect.objectContaining({ code: 'TREE_MISMATCH' }))
    expect(inlineBad).toEqual(pooledBad)
  })
})
