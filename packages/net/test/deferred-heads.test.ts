/** DeferredHeads (src/deferred-heads.ts): heads kept until a copy reaches them, within their bounds. */
import { describe, expect, it } from 'vitest'
import { DeferredHeads, MAX_DEFERRED_CHAINS, MAX_DEFERRED_PER_CHAIN } from '../src/deferred-heads.js'
import type { SignedHead } from '../src/wire/head.js'

const head = (length: number, rootByte = 0): SignedHead => ({
  v: 1, key: new Uint8Array(32), signer: new Uint8Array(32), length, fork: 0, root: new Uint8Array(32).fill(rootByte), sig: new Uint8Array(64)
})

describe('DeferredHeads', () => {
  it('hands back, once, the heads no longer than the length reached; the longer ones wait on', () => {
    const deferred = new DeferredHeads()
    for (const length of [5, 3, 9]) deferred.add('k', head(length))
    expect(deferred.take('k', 4).map((h) => h.length)).toEqual([3])
    expect(deferred.take('k', 5).map((h) => h.length)).toEqual([5])
    expect(deferred.take('k', 5)).toEqual([])
    expect(deferred.take('k', 100).map((h) => h.length)).toEqual([9])
    expect(deferred.size).toBe(0)
    expect(deferred.take('other', 100)).toEqual([])
  })

  it('keeps one copy of a head, two roots at one length apart, and the longest heads of a chain when over its bound', () => {
    const deferred = new DeferredHeads()
    deferred.add('k', head(3, 1))
    deferred.add('k', head(3, 1))
    deferred.add('k', head(3, 2))
    expect(deferred.take('k', 3).map((h) => h.root[0])).toEqual([1, 2])
    for (let length = 1; length <= MAX_DEFERRED_PER_CHAIN + 3; length++) deferred.add('k', head(length))
    const kept = deferred.take('k', 1_000).map((h) => h.length)
    expect(kept).toHaveLength(MAX_DEFERRED_PER_CHAIN)
    expect(Math.min(...kept)).toBe(4)
  })

  it('forgets the chain touched least recently when over its bound on chains', () => {
    const deferred = new DeferredHeads()
    for (let i = 0; i < MAX_DEFERRED_CHAINS; i++) deferred.add(`chain-${i}`, head(2))
    deferred.add('chain-0', head(3))
    deferred.add('one more', head(2))
    expect(deferred.size).toBe(MAX_DEFERRED_CHAINS)
    expect(deferred.take('chain-1', 10)).toEqual([])
    expect(deferred.take('chain-0', 10)).toHaveLength(2)
    expect(deferred.take('one more', 10)).toHaveLength(1)
  })
})
