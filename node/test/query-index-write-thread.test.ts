/**
 * The query index's writing thread, which a rebuild writes through: what
 * crosses to it (rows and blocks packed into typed arrays) comes back
 * exactly as it went, and a damaged pack is refused; blocks decoded there
 * or here give the rows the inline writer gives; a block that fails
 * decoding, a hook that throws or an index that cannot be opened fail with
 * their own typed errors and write nothing. Real SQLite files, real chains
 * from a small generated data set.
 */
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CoreError, type UserId } from '@healthchain/core'
import type { PositionedBlock } from '@healthchain/ledger'
import { generateDataset, Rng, type Dataset } from '../src/testing/index.js'
import { QueryIndex, type EntryRows } from '../src/query-index/index.js'
import { IndexWriteThread } from '../src/query-index/index-write-thread.js'
import type { ChainCursor, RowsAt } from '../src/query-index/index-writer.js'
import { packBlocks, unpackBlocks } from '../src/query-index/packed-blocks.js'
import { packRows, unpackRows } from '../src/query-index/packed-rows.js'
import { NodeError } from '../src/errors.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

const pick = <T>(rng: Rng, from: readonly T[]): T => from[rng.int(from.length)]!

/** A random batch: any mix of observations (nulls anywhere they may be), points and erasures, in position order. */
function randomBatch (rng: Rng): RowsAt[] {
  const texts = ['8480-6', 'mmHg', 'hospital-a', 'user', 'positive', 'Grüße ✓', '']
  const maybe = <T>(value: T): T | null => rng.chance(0.3) ? null : value
  const number = (): number => pick(rng, [0, -0, 1.5, -273.15, 1e300, Number.MIN_VALUE, 2 ** 53 - 1, rng.between(-1e6, 1e6)])
  const batch: RowsAt[] = []
  let seq = rng.int(5)
  for (let e = rng.int(12); e >= 0; e--) {
    const rows: EntryRows = {
      observations: Array.from({ length: rng.int(4) }, (_, ord) => ({
        ord,
        source: pick(rng, ['exam', 'exercise'] as const),
        author: pick(rng, texts),
        time: rng.int(2 ** 42),
        endTime: maybe(rng.int(2 ** 42)),
        code: pick(rng, texts),
        value: maybe(number()),
        textValue: maybe(pick(rng, texts)),
        unit: maybe(pick(rng, texts)),
        low: maybe(number()),
        high: maybe(number())
      })),
      locations: Array.from({ length: rng.int(3) }, () => ({
        time: rng.int(2 ** 42), lat: rng.between(-90, 90), lon: rng.between(-180, 180), acc: rng.between(0, 100)
      })),
      erases: Array.from({ length: rng.chance(0.2) ? 1 + rng.int(3) : 0 }, () => rng.int(seq + 1))
    }
    batch.push({ seq, rows })
    seq += 1 + rng.int(3)
  }
  return batch
}

describe('what crosses to the writing thread', () => {
  it('rows come back exactly as they went, over 300 random batches (nulls, -0, long strings, erasures)', () => {
    const rng = new Rng('packed-rows')
    for (let i = 0; i < 300; i++) {
      const batch = randomBatch(rng)
      const back = unpackRows(packRows(batch))
      expect(back).toEqual(batch)
      // toEqual treats -0 and 0 alike; the numbers must be the very same.
      back.forEach((b, k) => b.rows.observations.forEach((o, j) => { expect(Object.is(o.value, batch[k]!.rows.observations[j]!.value)).toBe(true) }))
    }
  })

  it('refuses a pack whose counts and arrays disagree, or that names a string it does not hold', () => {
    const batch: RowsAt[] = [{ seq: 3, rows: { observations: [{ ord: 0, source: 'exam', author: 'hospital-a', time: 1, endTime: null, code: 'c', value: 1, textValue: null, unit: null, low: null, high: null }], locations: [], erases: [7] } }]
    const packed = packRows(batch)
    expect(() => unpackRows({ ...packed, entries: Int32Array.from([3, 2, 0, 1]) })).toThrow(RangeError)
    expect(() => unpackRows({ ...packed, erases: new Int32Array(0) })).toThrow(RangeError)
    expect(() => unpackRows({ ...packed, strings: ['exam'] })).toThrow(/no string/)
  })

  it('blocks come back byte for byte, empty ones and an empty batch too; mismatched ends are refused', () => {
    const rng = new Rng('packed-blocks')
    for (let i = 0; i < 100; i++) {
      const blocks: PositionedBlock[] = Array.from({ length: rng.int(6) }, (_, k) => ({
        seq: k * 2, block: Uint8Array.from({ length: rng.int(300) }, () => rng.int(256))
      }))
      expect(unpackBlocks(packBlocks(blocks))).toEqual(blocks)
    }
    const packed = packBlocks([{ seq: 1, block: Uint8Array.of(1, 2, 3) }, { seq: 2, block: Uint8Array.of(4) }])
    expect(() => unpackBlocks({ ...packed, ends: Int32Array.of(3, 5) })).toThrow(RangeError)
    expect(() => unpackBlocks({ ...packed, ends: Int32Array.of(3, 2, 4) })).toThrow(RangeError)
    expect(() => unpackBlocks({ ...packed, ends: Int32Array.of(5, 4) })).toThrow(RangeError)
  })
})

describe('the index writing thread', () => {
  let dir: string
  let data: Dataset
  let users: UserId[]

  beforeAll(async () => {
    dir = await makeTempDir('healthchain-index-write-thread-')
    data = await generateDataset({ dir: join(dir, 'store'), users: 5, days: 4, seed: 'write-thread', contacts: 1, nearMisses: 1 })
    users = data.users.map((u) => u.userId)
  }, 60_000)

  afterAll(async () => {
    await data?.ledger.close()
    await removeDir(dir)
  })

  const blocksOf = async (user: UserId): Promise<{ key: Uint8Array, length: number, blocks: PositionedBlock[] }> => {
    const chain = await data.ledger.chain(user)
    return { key: chain.key, length: chain.length, blocks: await chain.readBlocks(0, chain.length) }
  }

  /** Every row of the index, by user, in a stable order. */
  const dump = (index: QueryIndex): unknown => {
    const db = index.database
    return {
      chains: db.prepare('SELECT user_id, indexed_length FROM chains ORDER BY user_id').all(),
      observations: db.prepare('SELECT c.user_id, o.seq, o.ord, o.source, o.author, o.time, o.end_time, o.code, o.value, o.text_value, o.unit, o.low, o.high FROM observations o JOIN chains c USING (uid) ORDER BY c.user_id, o.seq, o.ord').all(),
      locations: db.prepare('SELECT c.user_id, l.seq, l.time, l.cell, l.lat, l.lon, l.acc FROM locations l JOIN chains c USING (uid) ORDER BY c.user_id, l.seq, l.time').all()
    }
  }

  it('writes what the inline writer writes, whichever thread decoded each batch', async () => {
    const inline = QueryIndex.open(join(dir, 'inline.sqlite'))
    for (const user of users) await inline.indexChain(await data.ledger.chain(user), user)
    const viaThread = QueryIndex.open(join(dir, 'thread.sqlite'))
    const thread = IndexWriteThread.start(viaThread.path)
    try {
      const batches = await Promise.all(users.map(async (user) => {
        const { key, length, blocks } = await blocksOf(user)
        return { user, length, blocks, cursor: await thread.cursorFor(user, key) }
      }))
      // All given at once: the first two go to the thread as blocks, the rest (it has enough waiting) as rows decoded here.
      const sent = await Promise.all(batches.map(async (b) => await thread.applyBlocks(b.user, b.cursor, b.length, b.blocks)))
      expect(thread.stats).toEqual({ decodedThere: 2, decodedHere: users.length - 2 })
      expect(sent.every((r) => r.observations + r.locations > 0)).toBe(true)
      expect(dump(viaThread)).toEqual(dump(inline))
    } finally {
      await thread.close()
      await viaThread.close()
      await inline.close()
    }
  })

  it('refuses a damaged block with the core\'s MALFORMED error, decoded there or here, and writes nothing of its batch', async () => {
    const index = QueryIndex.open(join(dir, 'damaged.sqlite'))
    const thread = IndexWriteThread.start(index.path)
    try {
      const batches = await Promise.all(users.map(async (user) => {
        const { key, length, blocks } = await blocksOf(user)
        const damaged = blocks.map((b, i) => i === blocks.length - 1 ? { seq: b.seq, block: b.block.subarray(0, b.block.length - 5) } : b)
        return { user, length, damaged, cursor: await thread.cursorFor(user, key) }
      }))
      const attempts = await Promise.allSettled(batches.map(async (b) => await thread.applyBlocks(b.user, b.cursor, b.length, b.damaged)))
      expect(thread.stats).toEqual({ decodedThere: 2, decodedHere: users.length - 2 })
      for (const attempt of attempts) {
        expect(attempt.status).toBe('rejected')
        const reason = (attempt as PromiseRejectedResult).reason as unknown
        expect(reason).toBeInstanceOf(CoreError)
        expect((reason as CoreError).code).toBe('MALFORMED')
      }
      for (const user of users) expect(index.indexedLength(user)).toBe(0)
      expect(index.counts()).toEqual({ chains: users.length, observations: 0, locations: 0 })
    } finally {
      await thread.close()
      await index.close()
    }
  })

  it('a rebuild whose hook throws for one chain reports that chain with the hook\'s own error, indexes the others, and ends the rebuild', async () => {
    const victim = users[2]!
    const index = QueryIndex.open(join(dir, 'hooked.sqlite'), { batchSize: 7, onBatch: (b) => { if (b.user === victim && b.from > 0) throw new Error('injected in the writing thread\'s transaction') } })
    try {
      const result = await index.rebuild(data.ledger)
      expect(result.failed.map((f) => f.user)).toEqual([victim])
      expect(String(result.failed[0]!.error)).toContain('injected in the writing thread\'s transaction')
      // The victim's first batch went in with its cursor; the failing one left neither.
      expect(index.indexedLength(victim)).toBe(7)
      expect(index.database.prepare('SELECT max(seq) FROM locations l JOIN chains c USING (uid) WHERE c.user_id = ?').pluck().get(victim) ?? -1).toBeLessThan(7)
      for (const user of users.filter((u) => u !== victim)) expect(index.indexedLength(user)).toBe((await data.ledger.chain(user)).length)
    } finally {
      await index.close()
    }
  })

  it('a hook\'s error goes to its own batch only: a damaged batch sent with it fails with MALFORMED, not the hook\'s error', async () => {
    const [victim, other] = users as [UserId, UserId]
    const index = QueryIndex.open(join(dir, 'hook-error.sqlite'))
    const thread = IndexWriteThread.start(index.path, (b) => { if (b.user === victim) throw new Error('hook refused the victim') })
    try {
      type Batch = { user: UserId, length: number, blocks: PositionedBlock[], cursor: ChainCursor }
      const [v, o] = await Promise.all([victim, other].map(async (user): Promise<Batch> => {
        const { key, length, blocks } = await blocksOf(user)
        return { user, length, blocks, cursor: await thread.cursorFor(user, key) }
      })) as [Batch, Batch]
      const damaged = o.blocks.map((b, i) => i === o.blocks.length - 1 ? { seq: b.seq, block: b.block.subarray(0, b.block.length - 5) } : b)
      // Both sent at once, both decoded there: the victim's batch runs the hook, which throws; then the other fails decoding.
      const [first, second] = await Promise.allSettled([
        thread.applyBlocks(v.user, v.cursor, v.length, v.blocks),
        thread.applyBlocks(o.user, o.cursor, o.length, damaged)
      ])
      expect(String((first as PromiseRejectedResult).reason)).toContain('hook refused the victim')
      const reason = (second as PromiseRejectedResult).reason as unknown
      expect(reason).toBeInstanceOf(CoreError)
      expect((reason as CoreError).code).toBe('MALFORMED')
    } finally {
      await thread.close()
      await index.close()
    }
  })

  it('a writing thread that dies mid-rebuild (out of memory: an error, then the thread gone) fails the rebuild with INTERNAL; close() then returns', async () => {
    let thread: IndexWriteThread | undefined
    const start = IndexWriteThread.start.bind(IndexWriteThread)
    const spy = vi.spyOn(IndexWriteThread, 'start').mockImplementation((path, hook) => (thread = start(path, hook)))
    let crashed = false
    const index = QueryIndex.open(join(dir, 'crash.sqlite'), {
      batchSize: 5,
      onBatch: () => {
        if (crashed || thread === undefined) return
        crashed = true
        // What Node does when a worker runs out of heap: 'error' (ERR_WORKER_OUT_OF_MEMORY), then the thread is gone.
        const worker = (thread as unknown as { pool: { workers: Worker[] } }).pool.workers[0]!
        worker.emit('error', Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' }))
        void worker.terminate()
      }
    })
    try {
      const failure = await index.rebuild(data.ledger).then(() => undefined, (err: unknown) => err)
      expect(crashed).toBe(true)
      expect(failure).toBeInstanceOf(NodeError)
      expect((failure as NodeError).code).toBe('INTERNAL')
      expect((failure as NodeError).message).toContain('the index writing thread stopped')
    } finally {
      spy.mockRestore()
      await index.close()
    }
  })

  it('close() during a rebuild stops it at its next chain (CLOSED) and ends its thread; the next open empties the marked file', async () => {
    const path = join(dir, 'closed-mid-rebuild.sqlite')
    const index = QueryIndex.open(path)
    let thread: IndexWriteThread | undefined
    const start = IndexWriteThread.start.bind(IndexWriteThread)
    const spy = vi.spyOn(IndexWriteThread, 'start').mockImplementation((p, hook) => (thread = start(p, hook)))
    // Settles when the close() asked for after the first chain has returned.
    let asked!: (closing: Promise<void>) => void
    const closed = new Promise<void>((resolve) => { asked = resolve })
    const rebuilding = index.rebuild(data.ledger, (p) => { if (p.chainsDone === 1) asked(index.close()) })
    try {
      await closed
      // Once close() has returned, no thread of this index may still write to the file.
      expect((thread as unknown as { pool: { workers: Worker[] } }).pool.workers).toEqual([])
      expect(index.isClosed).toBe(true)
    } finally {
      spy.mockRestore()
    }
    const failure = await rebuilding.then(() => undefined, (err: unknown) => err)
    expect(failure).toBeInstanceOf(NodeError)
    expect((failure as NodeError).code).toBe('CLOSED')
    const reopened = QueryIndex.open(path)
    try {
      expect(reopened.counts()).toEqual({ chains: 0, observations: 0, locations: 0 })
    } finally {
      await reopened.close()
    }
  })

  it('a second rebuild asked for while one runs waits for it, and both end with every chain indexed', async () => {
    const index = QueryIndex.open(join(dir, 'two-rebuilds.sqlite'))
    try {
      const seen: string[] = []
      const [first, second] = await Promise.all([
        index.rebuild(data.ledger, (p) => { seen.push(`first ${p.chainsDone}`) }),
        index.rebuild(data.ledger, (p) => { seen.push(`second ${p.chainsDone}`) })
      ])
      // The second began (its progress at 0 chains) only once the first had done every chain.
      expect(seen.indexOf('second 0')).toBe(seen.indexOf(`first ${users.length}`) + 1)
      expect(first.failed).toEqual([])
      expect(second.failed).toEqual([])
      for (const user of users) expect(index.indexedLength(user)).toBe((await data.ledger.chain(user)).length)
      expect(index.database.prepare("SELECT count(*) FROM meta WHERE key = 'rebuild_under_way'").pluck().get()).toBe(0)
    } finally {
      await index.close()
    }
  })

  it('a batch holds at most batchBytes of blocks (at least one): with 1 byte, one block a batch, and the same rows', async () => {
    const inline = QueryIndex.open(join(dir, 'bytes-inline.sqlite'))
    for (const user of users) await inline.indexChain(await data.ledger.chain(user), user)
    let batches = 0
    const index = QueryIndex.open(join(dir, 'bytes.sqlite'), { batchBytes: 1, onBatch: () => { batches++ } })
    try {
      const result = await index.rebuild(data.ledger)
      expect(result.failed).toEqual([])
      expect(batches).toBe(result.entriesDone)
      expect(dump(index)).toEqual(dump(inline))
    } finally {
      await index.close()
      await inline.close()
    }
  })

  it('a thread that cannot open its index fails every job with the index\'s DATA_FILE error', async () => {
    const thread = IndexWriteThread.start(join(dir, 'no-such-directory', 'index.sqlite'))
    try {
      const { key } = await blocksOf(users[0]!)
      const failure = await thread.cursorFor(users[0]!, key).catch((err: unknown) => err)
      expect(failure).toBeInstanceOf(NodeError)
      expect((failure as NodeError).code).toBe('DATA_FILE')
    } finally {
      await thread.close()
    }
  })
})
