/**
 * The store's memtable bound (writeBufferBytes): RocksDB keeps writes in
 * memory until a memtable is full, then flushes it to a table file. With a
 * 1 MiB bound, 4 MiB of writes reach the disk as table files while being
 * written; with the default bound (16 MiB) they all still sit in memory.
 * Either way every block reads back, before and after a restart.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_WRITE_BUFFER_BYTES, Ledger, LedgerError } from '../src/index.js'

const dirs: string[] = []
afterEach(async () => { await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) })) })

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-write-buffer-'))
  dirs.push(dir)
  return dir
}

const BLOCK = 2048
const BLOCKS = 2048 // 4 MiB
const blockAt = (i: number): Uint8Array => new Uint8Array(BLOCK).fill(i % 251)

/** Appends 4 MiB to a local core, in batches; returns the table files RocksDB wrote meanwhile. */
async function fill (ledger: Ledger, dir: string): Promise<string[]> {
  const core = await ledger.localCore('local/cosignatures')
  try {
    for (let i = 0; i < BLOCKS; i += 64) await core.append(Array.from({ length: 64 }, (_, j) => blockAt(i + j)))
    expect(core.length).toBe(BLOCKS)
  } finally {
    await core.close()
  }
  return (await readdir(join(dir, 'db'))).filter((f) => f.endsWith('.sst'))
}

async function expectBlocks (ledger: Ledger): Promise<void> {
  const core = await ledger.localCore('local/cosignatures')
  try {
    expect(core.length).toBe(BLOCKS)
    for (const i of [0, 1, BLOCKS / 2, BLOCKS - 1]) expect(new Uint8Array((await core.get(i))!)).toEqual(blockAt(i))
  } finally {
    await core.close()
  }
}

describe('the store\'s memtable bound', () => {
  it('flushes writes to disk once a memtable holds writeBufferBytes, and loses nothing', async () => {
    const dir = await tempDir()
    const ledger = await Ledger.open({ dir, verifyWorkers: 0, writeBufferBytes: 1024 * 1024 })
    try {
      expect((await fill(ledger, dir)).length).toBeGreaterThan(0)
      await expectBlocks(ledger)
    } finally {
      await ledger.close()
    }
    const reopened = await Ledger.open({ dir, verifyWorkers: 0, writeBufferBytes: 1024 * 1024 })
    try {
      await expectBlocks(reopened)
    } finally {
      await reopened.close()
    }
  })

  it('keeps as much in memory by default as its bound allows', async () => {
    expect(DEFAULT_WRITE_BUFFER_BYTES).toBe(16 * 1024 * 1024)
    const dir = await tempDir()
    const ledger = await Ledger.open({ dir, verifyWorkers: 0 })
    try {
      expect(await fill(ledger, dir)).toEqual([])
      await expectBlocks(ledger)
    } finally {
      await ledger.close()
    }
  })

  it('refuses a bound under 1 MiB or over 1 GiB, before touching the directory', async () => {
    const dir = join(await tempDir(), 'store')
    for (const writeBufferBytes of [1000, 2 ** 30 + 1, 1024 * 1024 + 0.5]) {
      const err = await Ledger.open({ dir, writeBufferBytes }).then(async (opened) => { await opened.close() }, (e: unknown) => e)
      expect(err).toBeInstanceOf(LedgerError)
      expect((err as LedgerError).code).toBe('INVALID_FIELD')
      expect((err as LedgerError).field).toBe('writeBufferBytes')
    }
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
