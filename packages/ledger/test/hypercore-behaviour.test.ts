/// <reference path="../src/hypercore.d.ts" />
/// <reference path="../src/corestore.d.ts" />
/// <reference path="../src/hypercore-crypto.d.ts" />
/**
 * Behaviour of hypercore 11.37.1 + corestore 7.12.5 that the ledger relies on, proven
 * against real on-disk cores (RocksDB) in fresh temp dirs. If an upgrade changes one of
 * these facts, this file is where it should fail first.
 */
import { describe, it, expect, afterEach } from 'vitest'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'

const dirs: string[] = []
const stores: Corestore[] = []

async function tmpDir (): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'healthchain-hc-'))
  dirs.push(dir)
  return dir
}

function openStore (dir: string, opts?: Corestore.Options): Corestore {
  const store = new Corestore(dir, opts)
  stores.push(store)
  return store
}

async function closeStore (store: Corestore): Promise<void> {
  await store.close()
}

/** Reject if `p` does not settle within `ms` (update({ wait }) and waiting gets have no timeout of their own). */
function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Whether `p` is still pending after `ms`. */
async function pendingAfter (p: Promise<unknown>, ms: number): Promise<boolean> {
  const PENDING = Symbol('pending')
  const winner = await Promise.race([p, new Promise((resolve) => setTimeout(() => { resolve(PENDING) }, ms))])
  return winner === PENDING
}

async function collect (it: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = []
  for await (const b of it) out.push(b.toString('hex'))
  return out.sort()
}

function connect (a: Corestore, b: Corestore): void {
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.pipe(s2).pipe(s1)
}

const buf = (s: string): Buffer => Buffer.from(s)

afterEach(async () => {
  // Close every store (ignoring the documented close() rejection after a failed
  // createIfMissing:false open), then delete the directories.
  const all = stores.splice(0)
  await Promise.allSettled(all.map((s) => s.close()))
  // A store whose ready() rejected keeps its RocksDB (and directory lock) open: close it too.
  await Promise.allSettled(all.map((s) => s.storage.close()))
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })))
})

describe('named cores: key derivation and persistence', () => {
  it('computes a named core key without opening it, and keeps key + blocks across a restart', async () => {
    const dir = await tmpDir()
    const store = openStore(dir)

    // Key of a named core, before it exists: signer key pair from the seed, core key = manifest hash.
    const kp = await store.createKeyPair('x')
    const predictedKey = Hypercore.key(kp.publicKey)
    expect(predictedKey).toHaveLength(32)
    expect(predictedKey.equals(kp.publicKey)).toBe(false) // core key is NOT the signer public key
    expect(predictedKey.equals(Hypercore.key({ version: 1, signers: [{ publicKey: kp.publicKey }] }))).toBe(true)
    expect(await collect(store.list())).toEqual([]) // createKeyPair created nothing on disk

    const core = store.get({ name: 'x' })
    expect(core.key).toBeNull() // named cores only know their key after ready()
    await core.ready()
    expect(core.key?.equals(predictedKey)).toBe(true)
    expect(core.discoveryKey?.equals(crypto.discoveryKey(predictedKey))).toBe(true)
    expect(core.keyPair?.publicKey.equals(kp.publicKey)).toBe(true)
    expect(core.manifest?.signers[0]?.publicKey.equals(kp.publicKey)).toBe(true)
    expect(core.writable).toBe(true)

    await core.append([buf('one'), buf('two')])
    const treeHash = await core.treeHash()
    await closeStore(store)
    expect(core.closed).toBe(true)

    const reopened = openStore(dir)
    // Same seed on disk → same derived key, even before any get().
    expect(Hypercore.key((await reopened.createKeyPair('x')).publicKey).equals(predictedKey)).toBe(true)
    const again = reopened.get({ name: 'x' })
    await again.ready()
    expect(again.key?.equals(predictedKey)).toBe(true)
    expect(again.writable).toBe(true)
    expect(again.length).toBe(2)
    expect((await again.get(0))?.toString()).toBe('one')
    expect((await again.get(1))?.toString()).toBe('two')
    expect((await again.treeHash()).equals(treeHash)).toBe(true)

    // Different names and namespaces give different keys.
    const other = reopened.get({ name: 'y' })
    const namespaced = reopened.namespace('ns1').get({ name: 'x' })
    await Promise.all([other.ready(), namespaced.ready()])
    expect(other.key?.equals(predictedKey)).toBe(false)
    expect(namespaced.key?.equals(predictedKey)).toBe(false)
  })

  it('guards primaryKey: requires unsafe, and refuses a directory seeded with another key', async () => {
    const dir = await tmpDir()
    const first = openStore(dir)
    await first.ready()
    const seed = first.primaryKey
    if (!seed) throw new Error('no primary key after ready()')
    expect(seed).toHaveLength(32)
    await closeStore(first)

    expect(() => new Corestore(dir, { primaryKey: crypto.randomBytes(32) })).toThrow(/unsafe/)

    const wrong = openStore(dir, { primaryKey: crypto.randomBytes(32), unsafe: true })
    await expect(wrong.ready()).rejects.toThrow(/Another corestore is stored here/)
    // GOTCHA: a store whose open failed never closes its RocksDB, even after close():
    // the directory stays locked until storage.close() is called explicitly.
    await wrong.close()
    const blocked = openStore(dir)
    await expect(blocked.ready()).rejects.toThrow(/could not be locked/)
    await blocked.storage.close().catch(() => {}) // rethrows the lock error
    await wrong.storage.close() // releases the lock

    // The same seed in another directory derives the same named keys.
    const original = openStore(dir)
    const kp = await original.createKeyPair('x')
    const copy = openStore(await tmpDir(), { primaryKey: seed, unsafe: true })
    expect((await copy.createKeyPair('x')).publicKey.equals(kp.publicKey)).toBe(true)
  })
})

describe('append', () => {
  it('appends a batch in one call, returns the new length, emits one append event', async () => {
    const store = openStore(await tmpDir())
    const core = store.get({ name: 'batch' })
    await core.ready()

    let appendEvents = 0
    core.on('append', () => appendEvents++)

    const r1 = await core.append([buf('a'), buf('bb'), buf('ccc')])
    expect(r1).toEqual({ length: 3, byteLength: 6 })
    const r2 = await core.append(buf('dddd'))
    expect(r2).toEqual({ length: 4, byteLength: 10 })
    expect(appendEvents).toBe(2)

    expect(core.length).toBe(4)
    expect(core.byteLength).toBe(10)
    expect(core.contiguousLength).toBe(4)
    expect(core.signedLength).toBe(4)
    expect(core.fork).toBe(0)
    const blocks = await Promise.all([0, 1, 2, 3].map((i) => core.get(i)))
    expect(blocks.map((b) => b?.toString())).toEqual(['a', 'bb', 'ccc', 'dddd'])

    const info = await core.info({ storage: true })
    expect(info.length).toBe(4)
    expect(info.byteLength).toBe(10)
    expect(info.storage).toBeNull() // storage stats are not available in 11.37.1

    // valueEncoding per session; Buffers bypass the encoding.
    const text = store.get<string>({ name: 'batch', valueEncoding: 'utf-8' })
    await text.ready()
    expect(await text.get(1)).toBe('bb')
    expect((await text.get(1, { valueEncoding: 'binary' }))?.toString()).toBe('bb')
  })
})

describe('clear (local erasure)', () => {
  it('removes the block data locally but keeps length, byteLength and tree hash, across a restart', async () => {
    const dir = await tmpDir()
    const store = openStore(dir)
    const core = store.get({ name: 'c' })
    await core.ready()
    await core.append([buf('a'), buf('b'), buf('c'), buf('d')])
    const treeHash = await core.treeHash()
    const signable = await core.signable()

    expect(await core.clear(1, 2)).toBeNull() // resolves null without { diff: true }
    expect(await core.clear(1, { diff: true })).toEqual({ blocks: 0 }) // diff counter is never incremented

    expect(await core.has(1)).toBe(false)
    expect(await core.get(1, { wait: false })).toBeNull()
    expect(await core.has(0)).toBe(true)
    expect(await core.has(0, 4)).toBe(false)
    expect(core.length).toBe(4)
    expect(core.byteLength).toBe(4) // still counts the cleared block
    expect(core.contiguousLength).toBe(1) // drops to the cleared index
    expect((await core.treeHash()).equals(treeHash)).toBe(true)
    expect((await core.signable()).equals(signable)).toBe(true)

    // A waiting get with no peer does not return null: it waits (here until the timeout).
    await expect(core.get(1, { timeout: 50 })).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' })

    await closeStore(store)
    const reopened = openStore(dir)
    const again = reopened.get({ name: 'c' })
    await again.ready()
    expect(again.length).toBe(4)
    expect(await again.has(1)).toBe(false)
    expect(await again.get(1, { wait: false })).toBeNull()
    expect((await again.get(2))?.toString()).toBe('c')
    expect((await again.treeHash()).equals(treeHash)).toBe(true)
    expect((await Hypercore.treeHashFromStorage(again)).equals(treeHash)).toBe(true)
  })

  it('treeHash()/signable() wait for a peer when the LAST block is cleared; treeHashFromStorage does not', async () => {
    const store = openStore(await tmpDir())
    const core = store.get({ name: 'last' })
    await core.ready()
    await core.append([buf('a'), buf('b'), buf('c')])
    const treeHash = await core.treeHash()

    await core.clear(2)
    expect((await Hypercore.treeHashFromStorage(core, 3)).equals(treeHash)).toBe(true)
    expect((await core.treeHash(2)).length).toBe(32) // block 1 is still here: fine

    const waiting = core.treeHash()
    waiting.catch(() => {}) // rejected with REQUEST_CANCELLED when the store closes
    expect(await pendingAfter(waiting, 200)).toBe(true)
    await closeStore(store)
    await expect(waiting).rejects.toMatchObject({ code: 'REQUEST_CANCELLED' })
  })
})

describe('replication between two stores', () => {
  it('a read-only replica gets all blocks and the same tree hash and signed head', async () => {
    const storeA = openStore(await tmpDir())
    const storeB = openStore(await tmpDir())
    const writer = storeA.get({ name: 'chain' })
    await writer.ready()
    await writer.append([buf('a'), buf('b'), buf('c'), buf('d')])
    const key = writer.key
    if (!key) throw new Error('writer has no key')

    const replica = storeB.get({ key })
    expect(replica.key?.equals(key)).toBe(true) // by-key cores know their key synchronously
    await replica.ready()
    expect(replica.writable).toBe(false)
    expect(replica.keyPair).toBeNull()
    expect(replica.length).toBe(0)
    expect(replica.manifest).toBeNull() // learnt from the first upgrade

    connect(storeA, storeB)
    expect(await within(replica.update({ wait: true }), 5000, 'replica update')).toBe(true)
    expect(replica.length).toBe(4)
    await within(replica.download({ start: 0, end: replica.length }).done(), 5000, 'download')
    expect(await replica.has(0, 4)).toBe(true)
    const blocks = await Promise.all([0, 1, 2, 3].map((i) => replica.get(i, { wait: false })))
    expect(blocks.map((b) => b?.toString())).toEqual(['a', 'b', 'c', 'd'])
    expect((await replica.treeHash()).equals(await writer.treeHash())).toBe(true)

    // Head signature: what the writer signed is checkable by anyone holding the signer public key
    // (from the manifest; the core key alone is a hash and cannot verify anything).
    const signerKey = replica.manifest?.signers[0]?.publicKey
    if (!signerKey) throw new Error('replica has no manifest')
    expect(Hypercore.key(signerKey).equals(key)).toBe(true)
    const signable = await replica.signable(4)
    expect(signable).toHaveLength(112)
    expect(signable.equals(await writer.signable(4))).toBe(true)
    const stored = writer.state?.signature // INTERNAL: multisig-encoded head signature
    expect(stored).toHaveLength(68)
    expect(crypto.verify(signable, stored!.subarray(2, 66), signerKey)).toBe(true)
    // Or sign the same bytes ourselves for head gossip:
    const own = crypto.sign(await writer.signable(), writer.keyPair!.secretKey)
    expect(crypto.verify(signable, own, signerKey)).toBe(true)
    expect(crypto.verify(await writer.signable(3), own, signerKey)).toBe(false)
  })

  it('clearing on the writer does not erase the replica copy; a waiting get even re-fetches it', async () => {
    const storeA = openStore(await tmpDir())
    const storeB = openStore(await tmpDir())
    const writer = storeA.get({ name: 'chain' })
    await writer.ready()
    await writer.append([buf('a'), buf('b'), buf('c')])
    const replica = storeB.get({ key: writer.key! })
    await replica.ready()
    connect(storeA, storeB)
    await within(replica.update({ wait: true }), 5000, 'replica update')
    await within(replica.download({ start: 0, end: 3 }).done(), 5000, 'download')

    await writer.clear(1)
    await new Promise((resolve) => setTimeout(resolve, 100)) // let the "dropped" range reach the replica
    expect(await writer.has(1)).toBe(false)
    expect(await writer.get(1, { wait: false })).toBeNull()
    expect(await replica.has(1)).toBe(true)
    expect((await replica.get(1, { wait: false }))?.toString()).toBe('b')
    expect(replica.length).toBe(3)

    // Erasure is local only: a waiting get on the writer silently downloads the block back
    // from the replica. Erasure must be propagated explicitly and local reads of erased
    // blocks must use { wait: false }.
    const refetched = await within(writer.get(1, { timeout: 5000 }), 6000, 'writer refetch')
    expect(refetched?.toString()).toBe('b')
    expect(await writer.has(1)).toBe(true)

    // The replica can erase its own copy the same way.
    await replica.clear(1)
    expect(await replica.has(1)).toBe(false)
  })
})

describe('enumerating stored cores after a restart', () => {
  it('store.list() gives discovery keys, getAuth() the key and key pair, the alias stream the names', async () => {
    const dir = await tmpDir()
    const store = openStore(dir)
    const alice = store.get({ name: 'alice' })
    const bob = store.get({ name: 'bob' })
    const carol = store.namespace('ns1').get({ name: 'carol' })
    const foreignKey = crypto.randomBytes(32)
    const foreign = store.get({ key: foreignKey }) // a replica of someone else's core
    await Promise.all([alice.ready(), bob.ready(), carol.ready(), foreign.ready()])
    const dks = new Map<string, string>([
      ['alice', alice.discoveryKey!.toString('hex')],
      ['bob', bob.discoveryKey!.toString('hex')],
      ['carol', carol.discoveryKey!.toString('hex')],
      ['foreign', foreign.discoveryKey!.toString('hex')]
    ])
    const ns1 = store.namespace('ns1').ns
    await closeStore(store)

    const reopened = openStore(dir)
    await reopened.ready()
    // Every stored core, named or not, in any namespace (no core is opened by this).
    expect(await collect(reopened.list())).toEqual([...dks.values()].sort())
    // Named cores of one namespace only.
    expect(await collect(reopened.list(reopened.ns))).toEqual([dks.get('alice'), dks.get('bob')].sort())
    expect(await collect(reopened.list(ns1))).toEqual([dks.get('carol')])

    // Names, via the storage (corestore itself has no public "list names" API).
    const names: string[] = []
    for await (const { alias, discoveryKey } of reopened.storage.createAliasStream(reopened.ns)) {
      names.push(alias.name)
      expect(discoveryKey.toString('hex')).toBe(dks.get(alias.name))
    }
    expect(names.sort()).toEqual(['alice', 'bob'])
    expect((await reopened.storage.getAlias({ name: 'bob', namespace: reopened.ns }))?.toString('hex')).toBe(dks.get('bob'))

    // Discovery key → key (+ key pair for our own cores) without opening the core.
    const authAlice = await reopened.getAuth(Buffer.from(dks.get('alice')!, 'hex'))
    expect(authAlice?.keyPair?.secretKey).toHaveLength(64)
    expect(authAlice && Hypercore.key(authAlice.keyPair!.publicKey).equals(authAlice.key)).toBe(true)
    const authForeign = await reopened.getAuth(Buffer.from(dks.get('foreign')!, 'hex'))
    expect(authForeign?.key.equals(foreignKey)).toBe(true)
    expect(authForeign?.keyPair).toBeNull()
    expect(await reopened.getAuth(crypto.randomBytes(32))).toBeNull()

    // Reopen one by key or by discovery key only.
    const byKey = reopened.get({ key: authAlice!.key })
    await byKey.ready()
    expect(byKey.writable).toBe(true) // key pair is stored with the core
    const byDk = reopened.get({ discoveryKey: Buffer.from(dks.get('bob')!, 'hex') })
    await byDk.ready()
    expect(byDk.key?.equals(bob.key!)).toBe(true)
    expect(await reopened.storage.hasCore(Buffer.from(dks.get('carol')!, 'hex'))).toBe(true)
  })

  it('opening a missing core: { discoveryKey } rejects cleanly; { key, createIfMissing: false } also breaks store.close()', async () => {
    const store = openStore(await tmpDir())
    await expect(store.get({ discoveryKey: crypto.randomBytes(32) }).ready()).rejects.toMatchObject({ code: 'STORAGE_EMPTY' })
    await closeStore(store) // fine

    const store2 = openStore(await tmpDir())
    await expect(store2.get({ key: crypto.randomBytes(32), createIfMissing: false }).ready()).rejects.toMatchObject({ code: 'STORAGE_EMPTY' })
    await expect(store2.close()).rejects.toMatchObject({ code: 'STORAGE_EMPTY' })
  })
})
