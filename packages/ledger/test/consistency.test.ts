/**
 * Merkle consistency proofs (src/consistency.ts) on real Hypercores: the
 * nodes read for every pair of lengths fold to the tree hashes hypercore
 * itself gives those lengths; the node set is exactly what hypercore's own
 * upgrade proofs carry (this reaches into hypercore 11.37.1's
 * lib/merkle-tree.js, so an upgrade that changes them fails here first);
 * nodes that clear() deleted are rebuilt from erased leaves.
 */
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { utf8ToBytes } from '@healthchain/core'
import {
  MAX_CONSISTENCY_LENGTH, consistencyIndexes, foldConsistency, readConsistencyNodes, type MerkleNode
} from '../src/index.js'
import { storedTreeNodes } from '../src/tree-audit.js'
import { makeTempDir, removeDir } from './helpers/consortium.js'

const require = createRequire(import.meta.url)
const { MerkleTree } = require('hypercore/lib/merkle-tree.js') as {
  MerkleTree: {
    proof (
      state: unknown, rx: unknown, request: { block: null, hash: null, seek: null, upgrade: { start: number, length: number } }
    ): Promise<{ settle (): Promise<{ upgrade: { nodes: MerkleNode[], additionalNodes: MerkleNode[] } }> }>
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

let dir: string
let store: Corestore
const cores = new Map<number, Hypercore>()
/** Tree hash of each core at each length, as hypercore computes it. */
const treeHashes = new Map<number, string[]>()

/** Blocks of uneven sizes, so node sizes matter. */
const block = (i: number): Uint8Array => utf8ToBytes(`block ${i} ${'x'.repeat(i % 7)}`)

beforeAll(async () => {
  dir = await makeTempDir('healthchain-consistency-')
  store = new Corestore(dir)
  for (const length of [2, 5, 37, 64]) {
    const core = store.get({ name: `core-${length}` })
    await core.ready()
    const hashes = ['']
    for (let i = 0; i < length; i++) {
      await core.append(block(i))
      hashes.push(hex(await core.treeHash(i + 1)))
    }
    cores.set(length, core)
    treeHashes.set(length, hashes)
  }
})

afterAll(async () => {
  await store.close()
  await removeDir(dir)
})

describe('consistency proofs', () => {
  it('fold, for every pair of lengths up to 64, to the tree hashes hypercore gives both lengths', async () => {
    const core = cores.get(64)!
    const hashes = treeHashes.get(64)!
    for (let b = 2; b <= 64; b++) {
      for (let a = 1; a < b; a++) {
        const nodes = (await readConsistencyNodes(core, a, b))!
        expect(nodes.map((n) => n.index)).toEqual(consistencyIndexes(a, b))
        const { prefix, root } = foldConsistency(a, b, nodes)
        expect([hex(prefix), hex(root)], `a=${a} b=${b}`).toEqual([hashes[a], hashes[b]])
      }
    }
  })

  it('carry exactly the nodes, in the order, of hypercore\'s own upgrade proofs (roots at a, additional nodes up to b)', async () => {
    for (const [length, core] of cores) {
      for (let a = 1; a < length; a++) {
        const rx = (core.state as unknown as { storage: { read (): { tryFlush (): void } } }).storage.read()
        const pending = MerkleTree.proof(core.state, rx, { block: null, hash: null, seek: null, upgrade: { start: 0, length: a } })
        rx.tryFlush()
        const { upgrade } = await (await pending).settle()
        const theirs = [...upgrade.nodes, ...upgrade.additionalNodes]
        const ours = (await readConsistencyNodes(core, a, length))!
        expect(ours.map((n) => [n.index, n.size, hex(n.hash)]), `a=${a} b=${length}`).toEqual(theirs.map((n) => [n.index, n.size, hex(n.hash)]))
      }
    }
  })

  it('has at most 103 nodes up to 2^52: popcount(b) + the height of the root above leaf a-1 - trailing zeros of a', () => {
    expect(consistencyIndexes(1, 2 ** 52 - 1)).toHaveLength(103)
    expect(consistencyIndexes(2 ** 51 - 1, 2 ** 52 - 1)).toHaveLength(103)
    expect(consistencyIndexes(1, 2 ** 52)).toHaveLength(53)
    expect(consistencyIndexes(3, 5)).toEqual([1, 4, 6, 8])
    expect(consistencyIndexes(4, 8)).toEqual([3, 11])
  })

  it('refuses lengths it cannot prove (RangeError)', () => {
    for (const [a, b] of [[0, 1], [2, 2], [3, 2], [1, MAX_CONSISTENCY_LENGTH + 1], [1.5, 3]]) {
      expect(() => consistencyIndexes(a!, b!)).toThrow(RangeError)
    }
  })

  it('refuses to fold nodes that are not the proof\'s (RangeError)', async () => {
    const nodes = (await readConsistencyNodes(cores.get(64)!, 3, 8))!
    expect(() => foldConsistency(3, 8, nodes.slice(1))).toThrow(RangeError)
    expect(() => foldConsistency(3, 8, [...nodes].reverse())).toThrow(RangeError)
    expect(() => foldConsistency(3, 9, nodes)).toThrow(RangeError)
  })

  it('rebuilds nodes clear() deleted from the erased leaves kept for them, and gives null without them', async () => {
    const core = store.get({ name: 'cleared' })
    await core.ready()
    for (let i = 0; i < 8; i++) await core.append(block(i))
    const expected = async (a: number): Promise<unknown> => (await readConsistencyNodes(core, a, 8))!.map((n) => [n.index, n.size, hex(n.hash)])
    const before = { 2: await expected(2), 3: await expected(3) }
    const leaves = await storedTreeNodes(core, [0, 2, 4, 6])
    const erased = new Map(leaves.map((leaf, seq) => [seq, leaf!]))
    const read = async (a: number, kept?: Map<number, MerkleNode>): Promise<unknown> =>
      (await readConsistencyNodes(core, a, 8, kept))?.map((n) => [n.index, n.size, hex(n.hash)]) ?? null

    // Both leaves of one parent cleared: hypercore deletes them (4, 6) and keeps their parent (5).
    await core.clear(3)
    await core.clear(2)
    expect(await storedTreeNodes(core, [4, 6])).toEqual([null, null])
    expect(await read(3)).toBeNull()
    expect(await read(3, erased)).toEqual(before[3])

    // Blocks 0 and 1 too: the parents 1 and 5 go as well, and are rebuilt from the four leaves.
    await core.clear(1)
    await core.clear(0)
    expect(await storedTreeNodes(core, [1, 5])).toEqual([null, null])
    expect(await read(2)).toBeNull()
    expect(await read(2, erased)).toEqual(before[2])
    expect(hex(foldConsistency(2, 8, (await readConsistencyNodes(core, 2, 8, erased))!).root)).toBe(hex(await core.treeHash(8)))
    await core.close()
  })
})
