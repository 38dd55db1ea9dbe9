/**
 * The head log keeps chains' heads packed (head-slots.ts): what it serves
 * must be what a log of objects would. Checked against a plain model over
 * many random puts — new chains, newer heads, fork evidence ids, heads with
 * a prologue (kept as objects), ids that are not their head's key — across
 * compactions and hash-table growth, paged as heads-sync pages them.
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import type { SignedHead } from '../src/index.js'
import { HeadLog } from '../src/testing/internals.js'

/** A deterministic generator: the test is the same on every run. */
function random (seed: number): () => number {
  let s = seed
  return () => { s = (s * 1_103_515_245 + 12_345) % 2 ** 31; return s / 2 ** 31 }
}

function bytes (n: number, next: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256))
}

describe('HeadLog, packed', () => {
  it('serves, pages and finds exactly what a log of objects would, across replacements and compactions', () => {
    const next = random(7)
    const keys = Array.from({ length: 3000 }, () => bytes(32, next))
    // Keys that share their first four bytes (the hash) with another: probes must compare whole keys.
    for (let i = 0; i < 20; i++) keys.push(Uint8Array.from([...keys[i]!.subarray(0, 4), ...bytes(28, next)]))
    const log = new HeadLog(1_000)
    /** id → head, in the order of their last put: what the log must serve. */
    const model = new Map<string, SignedHead>()
    const put = (id: string, head: SignedHead): void => {
      log.put(id, head)
      model.delete(id)
      model.set(id, head)
    }
    for (let i = 0; i < 12_000; i++) {
      const key = keys[Math.floor(next() * keys.length)]!
      const id = bytesToHex(key)
      const length = (model.get(id)?.length ?? 0) + 1 + Math.floor(next() * 3)
      const head: SignedHead = { v: 1, key, signer: bytes(32, next), length, fork: Math.floor(next() * 2), root: bytes(32, next), sig: bytes(64, next) }
      const kind = next()
      if (kind < 0.05) put(`${id}/fork/${next() < 0.5 ? 'a' : 'b'}`, head)
      else if (kind < 0.08) put(id, { ...head, prologue: { hash: bytes(32, next), length: 1 } })
      else if (kind < 0.09) put(bytesToHex(keys[0]!).toUpperCase(), head)
      else put(id, head)
    }
    expect(log.size).toBe(model.size)
    for (const [id, head] of model) expect(log.get(id), id).toEqual(head)
    expect(log.get(bytesToHex(bytes(32, next)))).toBeUndefined()
    expect(log.get('not an id')).toBeUndefined()

    const served: SignedHead[] = []
    let since = 0
    for (let more = true; more;) {
      const page = log.since(since, 500)
      served.push(...page.heads)
      since = page.next
      more = page.more
    }
    expect(served).toEqual([...model.values()])
    expect(log.since(since, 500)).toEqual({ heads: [], next: log.current, more: false })
  })

  it('a head handed out is a copy: a later put of the same chain leaves it as it was', () => {
    const log = new HeadLog(1_000)
    const key = new Uint8Array(32).fill(3)
    const first: SignedHead = { v: 1, key, signer: new Uint8Array(32), length: 1, fork: 0, root: new Uint8Array(32).fill(1), sig: new Uint8Array(64) }
    log.put(bytesToHex(key), first)
    const got = log.get(bytesToHex(key))!
    log.put(bytesToHex(key), { ...first, length: 2, root: new Uint8Array(32).fill(2) })
    expect(got).toEqual(first)
    expect(log.get(bytesToHex(key))!.length).toBe(2)
  })
})
