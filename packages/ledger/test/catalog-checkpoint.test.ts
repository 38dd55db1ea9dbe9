/**
 * The catalog's checkpoint: whatever state the checkpoint file is in —
 * current, behind the catalog, missing, corrupted, truncated, of another
 * store, of a catalog rolled back — the catalog opens to exactly what
 * reading every record gives, and a checkpoint that is not this catalog's
 * is told, ignored and written again.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import { afterEach, describe, expect, it } from 'vitest'
import { generatePartyKeys, userIdFromKey, type UserId } from '@healthchain/core'
import { Catalog, type CatalogCheckpointOptions } from '../src/catalog.js'
import { decodeCatalogCheckpoint } from '../src/catalog-checkpoint.js'
import { localCoresOf } from '../src/local-cores.js'
import { crypto, makeTempDir, removeDir, within } from './helpers/consortium.js'

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const WRITER = fileURLToPath(new URL('./fixtures/catalog-writer.ts', import.meta.url))

const dirs: string[] = []
const stores: Corestore[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close()
  for (const dir of dirs.splice(0)) await removeDir(dir)
})

interface Store { readonly dir: string, readonly store: Corestore, readonly path: string }

async function newStore (): Promise<Store> {
  const dir = await makeTempDir('healthchain-checkpoint-')
  dirs.push(dir)
  return await storeIn(dir)
}

async function storeIn (dir: string): Promise<Store> {
  const store = new Corestore(Hypercore.defaultStorage(join(dir, 'store')), { active: false })
  stores.push(store)
  await store.ready()
  return { dir, store, path: join(dir, 'catalog-checkpoint') }
}

/** Opens the catalog with its checkpoint; `warnings` collects what it was told. */
async function openWith (s: Store, warnings: string[] = [], opts: Partial<CatalogCheckpointOptions> = {}): Promise<Catalog> {
  return await Catalog.open(localCoresOf(s.store), { path: s.path, warn: (m) => warnings.push(m), ...opts })
}

/** Everything the catalog holds, in its maps' order, as a full read of every record gives it. */
async function fullRead (s: Store): Promise<unknown> {
  const catalog = await Catalog.open(localCoresOf(s.store))
  try {
    return stateOf(catalog)
  } finally {
    await catalog.close()
  }
}

function stateOf (catalog: Catalog): unknown {
  const tables = catalog['tables']()
  return { ...tables, keys: Buffer.from(tables.keys).toString('hex'), users: catalog.users(), count: catalog.chainCount }
}

const key = (): Uint8Array => new Uint8Array(randomBytes(32))
const user = (): UserId => userIdFromKey(generatePartyKeys(crypto).sign.publicKey)

async function addChains (catalog: Catalog, n: number): Promise<UserId[]> {
  const users = Array.from({ length: n }, user)
  await Promise.all(users.map(async (u) => { await catalog.addChain(u, key()) }))
  return users
}

describe('catalog checkpoint', () => {
  it('is written at close and opens to what a full read gives, replaying nothing', async () => {
    const s = await newStore()
    const first: string[] = []
    const catalog = await openWith(s, first)
    expect(first).toEqual([]) // a new store: no checkpoint and nothing to read, nothing to tell
    await catalog.setRegistry(key())
    await addChains(catalog, 50)
    await catalog.close()
    const length = decodeCatalogCheckpoint(await readFile(s.path)).length
    expect(length).toBe(51)
    const warnings: string[] = []
    const again = await openWith(s, warnings)
    expect(again.checkpointLength).toBe(51)
    expect(warnings).toEqual([])
    expect(stateOf(again)).toEqual(await fullRead(s))
    await again.close()
  })

  it('records appended after it (a crash before the next write): the checkpoint and the records after it give the full read', async () => {
    const s = await newStore()
    const catalog = await openWith(s)
    await catalog.setRegistry(key())
    const users = await addChains(catalog, 20)
    await catalog.close()
    // Written without a checkpoint, as a node that crashed before its next one.
    const grown = await Catalog.open(localCoresOf(s.store))
    await addChains(grown, 10)
    await grown.moveChain(users[0]!, grown.chainKeyOf(users[0]!)!, key(), 7)
    await grown.noteSignKey(users[1]!, key(), 1)
    await grown.noteSignKey(users[1]!, key(), 2)
    await grown.noteSignKey(users[2]!, key(), 1)
    await grown.moveChain(users[2]!, grown.chainKeyOf(users[2]!)!, key(), 3)
    await grown.close()
    const warnings: string[] = []
    const again = await openWith(s, warnings)
    expect(again.checkpointLength).toBe(21)
    expect(warnings).toEqual([])
    expect(stateOf(again)).toEqual(await fullRead(s))
    await again.close()
    expect(decodeCatalogCheckpoint(await readFile(s.path)).length).toBe(21 + 10 + 5)
  })

  it('a writer killed (SIGKILL) while adding chains and writing checkpoints: reopens to the full read, every acknowledged chain in it', async () => {
    const dir = await makeTempDir('healthchain-checkpoint-')
    dirs.push(dir)
    const proc = spawn(process.execPath, ['--import', TSX, WRITER, dir, '9'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const acked: string[] = []
    let stderr = ''
    let pending = ''
    const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve() }))
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    await within(new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        const lines = (pending + d.toString()).split('\n')
        pending = lines.pop()!
        for (const line of lines) if (line !== 'ready') acked.push(line)
        if (acked.length >= 200) { proc.kill('SIGKILL'); resolve() }
      })
      proc.once('exit', (code, signal) => { if (acked.length < 200) reject(new Error(`writer exited early (${code ?? signal}): ${stderr.slice(0, 2000)}`)) })
    }), 60_000, '200 acknowledged chains')
    await within(exited, 5_000, 'writer exit')
    const s = await storeIn(dir)
    const warnings: string[] = []
    const opened = await openWith(s, warnings)
    expect(opened.checkpointLength).toBeGreaterThan(0)
    for (const u of acked) expect(opened.has(u as UserId)).toBe(true)
    expect(stateOf(opened)).toEqual(await fullRead(s))
    await opened.close()
  })

  it('moved chains and rekeys inside the checkpoint open to the full read; a record after it moves a chain again', async () => {
    const s = await newStore()
    const catalog = await openWith(s, [], { every: 4 })
    await catalog.setRegistry(key())
    const users = await addChains(catalog, 6)
    const first = catalog.chainKeyOf(users[0]!)!
    const second = key()
    await catalog.moveChain(users[0]!, first, second, 5)
    await catalog.noteSignKey(users[0]!, key(), 1)
    await catalog.noteSignKey(users[3]!, key(), 4)
    await catalog.close()
    const again = await openWith(s)
    expect(again.checkpointLength).toBe(10)
    expect(again.closedChain(first)).toEqual({ user: users[0], length: 5, successor: second })
    expect(again.userOf(first)).toBe(users[0])
    expect(again.signGenerationOf(users[3]!)).toBe(4)
    await again.moveChain(users[0]!, second, key(), 9)
    await again.noteSignKey(users[0]!, key(), 2)
    expect(stateOf(again)).toEqual(await fullRead(s))
    await again.close()
    expect(stateOf(await openWith(s))).toEqual(await fullRead(s))
  })

  it('is written every `every` records while the catalog grows', async () => {
    const s = await newStore()
    const catalog = await openWith(s, [], { every: 10 })
    for (let i = 0; i < 3; i++) await addChains(catalog, 8)
    await catalog['checkpointWrite']
    expect(catalog.checkpointLength).toBeGreaterThanOrEqual(10)
    expect(decodeCatalogCheckpoint(await readFile(s.path)).length).toBe(catalog.checkpointLength)
    await catalog.close()
  })

  it('missing, a corrupted byte, truncated: told, ignored, the catalog read in full, and written again', async () => {
    const s = await newStore()
    const catalog = await openWith(s)
    await addChains(catalog, 30)
    await catalog.close()
    const good = await readFile(s.path)
    const expected = await fullRead(s)
    const flipped = new Uint8Array(good)
    flipped[good.length >> 1]! ^= 0x01
    for (const [bytes, why] of [[undefined, /there is none/], [flipped, /digest/], [good.subarray(0, good.length - 9), /digest/], [good.subarray(0, 20), /too short/]] as const) {
      if (bytes === undefined) await rm(s.path)
      else await writeFile(s.path, bytes)
      const warnings: string[] = []
      const opened = await openWith(s, warnings)
      expect(opened.checkpointLength).toBe(0)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(why)
      expect(stateOf(opened)).toEqual(expected)
      await opened['checkpointWrite']
      expect(opened.checkpointLength).toBe(30)
      await opened.close()
      expect(Buffer.from(await readFile(s.path)).equals(good)).toBe(true)
    }
  })

  it('a checkpoint from another store (a copied file) is refused', async () => {
    const a = await newStore()
    const b = await newStore()
    for (const s of [a, b]) {
      const catalog = await openWith(s)
      await addChains(catalog, 5)
      await catalog.close()
    }
    await copyFile(a.path, b.path)
    const warnings: string[] = []
    const opened = await openWith(b, warnings)
    expect(warnings[0]).toMatch(/another store/)
    expect(opened.checkpointLength).toBe(0)
    expect(stateOf(opened)).toEqual(await fullRead(b))
    await opened.close()
  })

  it('a catalog rolled back below the checkpoint, then written again differently: refused both times', async () => {
    const s = await newStore()
    const catalog = await openWith(s)
    await addChains(catalog, 6)
    await catalog.close()
    const saved = await readFile(s.path)
    const plain = await Catalog.open(localCoresOf(s.store))
    await plain['core'].truncate(3)
    await plain.close()
    const warnings: string[] = []
    const behind = await openWith(s, warnings, { every: 1000 })
    expect(warnings[0]).toMatch(/covers 6 records, the catalog holds 3/)
    expect(stateOf(behind)).toEqual(await fullRead(s))
    await addChains(behind, 3)
    await behind.close()
    await writeFile(s.path, saved)
    warnings.length = 0
    const rewritten = await openWith(s, warnings)
    expect(warnings[0]).toMatch(/not the ones it was taken of/)
    expect(stateOf(rewritten)).toEqual(await fullRead(s))
    await rewritten.close()
  })
})
