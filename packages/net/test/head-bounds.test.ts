/**
 * The bounds on what heads of chains not held here make a node keep: the
 * head log's not-held partition, the first-head memory's two partitions,
 * and fork proofs of chains not held. (Between real nodes, with made-up
 * cores: test/heads-bounds.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import type { ForkProof, SignedHead } from '../src/index.js'
import { HeadLog, RecentHeads, UnheldForks } from '../src/testing/internals.js'

const head = (key: number, length: number, rootByte = 0): SignedHead => ({
  v: 1, key: new Uint8Array(32).fill(key), signer: new Uint8Array(32), length, fork: 0, root: new Uint8Array(32).fill(rootByte), sig: new Uint8Array(64)
})
const hex = (key: number): string => Buffer.from(new Uint8Array(32).fill(key)).toString('hex')

describe('HeadLog with a bound', () => {
  it('keeps every held id and at most maxUnheld others, the least recently put dropped first and no longer served', () => {
    const held = new Set([hex(1), `${hex(1)}/fork/a`])
    const log = new HeadLog(1_000, { maxUnheld: 3, isHeld: (id) => held.has(id) })
    log.put(hex(1), head(1, 1))
    log.put(`${hex(1)}/fork/a`, head(1, 1))
    for (let k = 10; k < 20; k++) log.put(hex(k), head(k, 1))
    // A newer head refreshes a not-held id: it is dropped last.
    log.put(hex(17), head(17, 2))
    expect(log.size).toBe(2 + 3)
    expect(log.unheldSize).toBe(3)
    expect(log.dropped).toBe(7)
    expect([hex(18), hex(19), hex(17)].every((id) => log.get(id) !== undefined)).toBe(true)
    expect(log.get(hex(10))).toBeUndefined()
    const served = log.since(0, 100).heads.map((h) => `${h.key[0]}:${h.length}`)
    expect(served).toEqual(['1:1', '1:1', '18:1', '19:1', '17:2'])
  })

  it('a not-held id that became held is kept when its turn to be dropped comes, and leaves the not-held count', () => {
    const held = new Set<string>()
    const log = new HeadLog(1_000, { maxUnheld: 2, isHeld: (id) => held.has(id) })
    log.put(hex(1), head(1, 1))
    log.put(hex(2), head(2, 1))
    held.add(hex(1))
    log.put(hex(3), head(3, 1))
    expect(log.get(hex(1))).toBeDefined()
    expect(log.unheldSize).toBe(2)
    for (let k = 4; k < 10; k++) log.put(hex(k), head(k, 1))
    expect(log.get(hex(1))).toBeDefined()
    expect(log.size).toBe(3)
  })

  it('refuses a bound that is not a whole number', () => {
    expect(() => new HeadLog(0, { maxUnheld: -1, isHeld: () => false })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'maxUnheld' }))
  })
})

describe('RecentHeads in two partitions', () => {
  it('a flood of other chains\' heads never pushes out a held chain\'s first head', () => {
    const recent = new RecentHeads({ held: 2, other: 3 })
    recent.remember(hex(1), head(1, 3, 0xaa), true)
    for (let k = 10; k < 1_000; k++) recent.remember(hex(k % 250), head(k % 250, k), false)
    expect(recent.get(hex(1), 3)?.root[0]).toBe(0xaa)
    expect(recent.size).toEqual({ held: 1, other: 3 })
    // The first head seen at a length is kept; a later one is not stored.
    recent.remember(hex(1), head(1, 3, 0xbb), true)
    expect(recent.get(hex(1), 3)?.root[0]).toBe(0xaa)
    // Held chains turn over only their own partition.
    recent.remember(hex(1), head(1, 4), true)
    recent.remember(hex(1), head(1, 5), true)
    expect(recent.get(hex(1), 3)).toBeUndefined()
    expect(recent.size).toEqual({ held: 2, other: 3 })
    expect(recent.dropped).toBe(990 - 3 + 1)
  })
})

describe('UnheldForks', () => {
  const proof = (key: number): ForkProof => ({ v: 1, a: head(key, 1, 1), b: head(key, 1, 2) })
  it('keeps at most its capacity, one per chain, the oldest dropped first; take removes', () => {
    const forks = new UnheldForks(2)
    expect(forks.add(proof(1))).toBe(true)
    expect(forks.add(proof(1))).toBe(false)
    expect(forks.add(proof(2))).toBe(true)
    expect(forks.add(proof(3))).toBe(true)
    expect(forks.has(hex(1))).toBe(false)
    expect(forks.list().map((p) => p.a.key[0])).toEqual([2, 3])
    expect(forks.dropped).toBe(1)
    expect(forks.take(hex(2))?.a.key[0]).toBe(2)
    expect(forks.size).toBe(1)
    expect(() => new UnheldForks(1.5)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }))
  })
})
