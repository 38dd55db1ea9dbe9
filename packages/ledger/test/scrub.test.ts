/**
 * scrub.ts and scrub-erased.ts on a real Corestore: cleared blocks leave no
 * byte in the store's files — small ones by a flush and a compaction of
 * their key range only, large ones (RocksDB blob files) by a whole-store
 * compaction; the blob threshold is the one the store runs with; erased
 * blocks a stopped process left owed are scrubbed when the log is next
 * opened, and the scrubbed mark says so.
 */
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { afterEach, describe, expect, it } from 'vitest'
import { ErasedLeaves, decodeScrubbedMark, encodeScrubbedMark } from '../src/erased-leaves.js'
import { logMark, rangesOf, scrubCleared, startScrub } from '../src/scrub.js'
import { scrubUnfinished } from '../src/scrub-erased.js'
import { storedLeaves } from '../src/tree-audit.js'
import { findOnDisk, markerText, textMarker } from '../../../test/helpers/disk-scan.js'
import { makeTempDir, removeDir } from './helpers/consortium.js'
import { localCoresOf } from '../src/local-cores.js'

const open: Array<{ close (): Promise<void> }> = []
const dirs: string[] = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
  for (const dir of dirs.splice(0)) await removeDir(dir)
})

async function openStore (dir: string): Promise<Corestore> {
  const store = new Corestore(dir, { active: false })
  await store.ready()
  open.push(store)
  return store
}

async function tempDir (): Promise<string> {
  const dir = await makeTempDir('healthchain-scrub-')
  dirs.push(dir)
  return dir
}

/** A block of exactly `size` bytes that starts with `marker`. */
function blockOf (marker: string, size: number): Buffer {
  const block = Buffer.alloc(size, 'x')
  block.write(marker)
  return block
}

/** Writes blocks to a core of a fresh store and reopens it, so they are in table and blob files, not in the memtable. */
async function flushedCore (dir: string, blocks: Buffer[]): Promise<{ store: Corestore, core: Hypercore }> {
  let store = await openStore(dir)
  const first = store.get({ name: 'chain', active: false })
  await first.ready()
  await first.append([Buffer.from('genesis'), ...blocks, Buffer.from('tail')])
  // Another core's large blocks share the blob file.
  const other = store.get({ name: 'other', active: false })
  await other.ready()
  await other.append([blockOf('other', 6000), blockOf('other', 6000)])
  await store.close()
  store = await openStore(dir)
  const core = store.get({ name: 'chain', active: false })
  await core.ready()
  return { store, core }
}

describe('scrubCleared', () => {
  it('small blocks: a flush and a compaction of their range, no whole-store sweep', async () => {
    const dir = await tempDir()
    const markers = [markerText(), markerText()]
    const { core } = await flushedCore(dir, markers.map((m) => blockOf(m, 100)))
    expect((await findOnDisk(dir, markers.map(textMarker))).map((h) => h.file)).toEqual([expect.stringMatching(/\.sst$/), expect.stringMatching(/\.sst$/)])
    await core.clear(1, 3)
    expect(await findOnDisk(dir, markers.map(textMarker)), 'a clear alone leaves them').toHaveLength(2)
    expect(await scrubCleared(core, [{ start: 1, end: 3, largest: 100 }])).toBe('range')
    expect(await findOnDisk(dir, markers.map(textMarker))).toEqual([])
    expect((await core.get(3, { wait: false }))?.toString()).toBe('tail')
  })

  it('blocks of the store\'s blob size or more: a whole-store sweep; one byte less stays in table files', async () => {
    const dir = await tempDir()
    const [small, large] = [markerText('JUST-SMALL'), markerText('BLOB')]
    const { core } = await flushedCore(dir, [blockOf(small, 4095), blockOf(large, 4096)])
    const before = await findOnDisk(dir, [textMarker(small), textMarker(large)])
    expect(before).toEqual([{ marker: small, file: expect.stringMatching(/\.sst$/) }, { marker: large, file: expect.stringMatching(/\.blob$/) }])

    await core.clear(2)
    expect(await scrubCleared(core, [{ start: 2, end: 3, largest: 4096 }])).toBe('sweep')
    expect(await findOnDisk(dir, [textMarker(large)])).toEqual([])
    await core.clear(1)
    expect(await scrubCleared(core, [{ start: 1, end: 2, largest: 4095 }])).toBe('range')
    expect(await findOnDisk(dir, [textMarker(small)])).toEqual([])
  })

  it('an unknown size counts as large; empty ranges do nothing', async () => {
    const dir = await tempDir()
    const marker = markerText()
    const { core } = await flushedCore(dir, [blockOf(marker, 9000)])
    expect(await startScrub(core, [{ start: 1, end: 1, largest: undefined }])).toEqual({ mode: 'flush', sweep: undefined })
    await core.clear(1)
    expect(await scrubCleared(core, [{ start: 1, end: 2, largest: undefined }])).toBe('sweep')
    expect(await findOnDisk(dir, [textMarker(marker)])).toEqual([])
  })

  it('concurrent sweeps share runs and each ends with its blocks gone', async () => {
    const dir = await tempDir()
    const markers = [markerText(), markerText(), markerText()]
    const { core } = await flushedCore(dir, markers.map((m) => blockOf(m, 5000)))
    await core.clear(1, 4)
    const modes = await Promise.all([1, 2, 3].map(async (seq) => await scrubCleared(core, [{ start: seq, end: seq + 1, largest: 5000 }])))
    expect(modes).toEqual(['sweep', 'sweep', 'sweep'])
    expect(await findOnDisk(dir, markers.map(textMarker))).toEqual([])
  })
})

describe('blocks written and cleared while the memtable holds them', () => {
  it('need a flush only, blob-sized or not; once the store restarted, a compaction', async () => {
    const dir = await tempDir()
    let store = await openStore(dir)
    let core = store.get({ name: 'outbox', active: false })
    await core.ready()
    const markers = [markerText('SMALL'), markerText('LARGE')]
    const mark = await logMark(core)
    await core.append([blockOf(markers[0]!, 100), blockOf(markers[1]!, 9000)])
    expect(await findOnDisk(dir, markers.map(textMarker))).toEqual(markers.map((m) => ({ marker: m, file: expect.stringMatching(/\.log$/) })))
    await core.truncate(0)
    expect(await scrubCleared(core, [{ start: 0, end: 2, largest: 9000 }], { writtenAfter: mark })).toBe('flush')
    expect(await findOnDisk(dir, markers.map(textMarker))).toEqual([])

    // Written, then the store restarts (its log is replayed into table and blob files): the mark no longer holds.
    const again = [markerText('SMALL'), markerText('LARGE')]
    const before = await logMark(core)
    await core.append([blockOf(again[0]!, 100), blockOf(again[1]!, 9000)])
    await store.close()
    store = await openStore(dir)
    core = store.get({ name: 'outbox', active: false })
    await core.ready()
    await core.truncate(0)
    expect(await scrubCleared(core, [{ start: 0, end: 2, largest: 9000 }], { writtenAfter: before })).toBe('sweep')
    expect(await findOnDisk(dir, again.map(textMarker))).toEqual([])
  })
})

describe('rangesOf', () => {
  it('groups consecutive positions and keeps the largest size, unknown when any is', () => {
    const sizes = new Map([[1, 10], [2, 5000], [3, 20], [7, 30]])
    expect(rangesOf([7, 3, 1, 2, 2, 9], (seq) => sizes.get(seq))).toEqual([
      { start: 1, end: 4, largest: 5000 }, { start: 7, end: 8, largest: 30 }, { start: 9, end: 10, largest: undefined }
    ])
  })
})

describe('erased blocks owed a scrub', () => {
  it('the scrubbed mark: 9 bytes, version 1; anything else counts as 0', () => {
    expect(Buffer.from(encodeScrubbedMark(258)).toString('hex')).toBe('010000000000000102')
    expect(decodeScrubbedMark(encodeScrubbedMark(258))).toBe(258)
    for (const bad of [null, new Uint8Array(8), Buffer.from('020000000000000102', 'hex'), Buffer.from('01ffffffffffffffff', 'hex')]) expect(decodeScrubbedMark(bad)).toBe(0)
    expect(() => encodeScrubbedMark(-1)).toThrow(RangeError)
  })

  it('a clear whose scrub never ran is scrubbed when the ledger next opens, and not again after', async () => {
    const dir = await tempDir()
    const markers = [markerText('SMALL'), markerText('LARGE')]
    let { store, core } = await flushedCore(dir, [blockOf(markers[0]!, 200), blockOf(markers[1]!, 8000)])
    let erased = await ErasedLeaves.open(localCoresOf(store))
    // What clearBlocks does up to the scrub, as if the process stopped right after the clear.
    const leaves = await storedLeaves(core, [1, 2])
    await erased.record(core.key!, leaves.filter((l) => l !== null))
    await core.clear(1, 3)
    expect(erased.unscrubbed().map((b) => [b.seq, b.size])).toEqual([[1, 200], [2, 8000]])
    await store.close()
    expect(await findOnDisk(dir, markers.map(textMarker))).toHaveLength(2)

    store = await openStore(dir)
    erased = await ErasedLeaves.open(localCoresOf(store))
    expect(erased.unscrubbed()).toHaveLength(2)
    expect(await scrubUnfinished(store, erased)).toBe(2)
    // The large block needs a whole-store sweep, which runs on in the background.
    await erased.settled()
    expect(erased.unscrubbed()).toEqual([])
    expect(await findOnDisk(dir, markers.map(textMarker))).toEqual([])
    await store.close()

    store = await openStore(dir)
    erased = await ErasedLeaves.open(localCoresOf(store))
    expect(erased.unscrubbed()).toEqual([])
    expect(await scrubUnfinished(store, erased)).toBe(0)
    core = store.get({ name: 'chain', active: false })
    await core.ready()
    expect(await core.has(1)).toBe(false)
  })

  it('a block owed for a chain no longer stored is dropped from the debt without creating the chain', async () => {
    const dir = await tempDir()
    const store = await openStore(dir)
    const erased = await ErasedLeaves.open(localCoresOf(store))
    const chain = new Uint8Array(32).fill(7)
    await erased.record(chain, [{ index: 2, size: 10, hash: new Uint8Array(32) }])
    expect(await scrubUnfinished(store, erased)).toBe(0)
    expect(erased.unscrubbed()).toEqual([])
    const dkeys: Buffer[] = []
    for await (const d of store.list()) dkeys.push(d)
    expect(dkeys).toHaveLength(1)
  })
})
