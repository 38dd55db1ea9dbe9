/**
 * Each chain's signed head as it is on disk, read without opening a
 * Hypercore: hypercore-storage keeps a core's head record (fork, length,
 * tree hash, the custodian's signature) and its manifest (the signer's
 * public key), and `getInfos` reads both for many cores in two RocksDB read
 * batches. An open core costs 20–30 KB and a node may hold millions of
 * chains, so a pass over all of them (the head log's seeding after a start)
 * must not open them.
 *
 * The head record is one record, written by Hypercore in one storage
 * transaction with the tree nodes it signs, so length, tree hash and
 * signature belong together (a replica's blocks may arrive later: see
 * `contiguousLength`). The signature is not checked here (~50 µs a head):
 * whoever receives a head verifies it.
 */
import Hypercore from 'hypercore'
import type Corestore from 'corestore'
import { createRequire } from 'node:module'
import type { TreeHead } from '@healthchain/core'
import { rawHeadSignature } from './tree-audit.js'
import { VERIFIED_MARK_KEY, decodeVerifiedMark, type VerifiedMark } from './verified-mark.js'

// hypercore-storage's key layout (11.37.1's, pinned): where a core's user data lives, to read verified marks without opening cores.
const storageKeys = createRequire(import.meta.url)('hypercore-storage/lib/keys.js') as {
  core: { userData (dataPointer: number, key: string): Uint8Array }
}

/**
 * A chain's head as signed by its custodian, in the shape peers exchange
 * (packages/net's SignedHead without the wire version): core's TreeHead,
 * whose signature covers Hypercore's treeSignable(key, root, length, fork).
 */
export type StoredSignedHead = TreeHead

/** A stored chain's head and how much of it is held. */
export interface StoredChainHead {
  readonly head: StoredSignedHead
  /**
   * Blocks held from position 0 without a gap — and, on a replica, checked
   * (its verified mark): blocks stored but not yet ingested do not count —
   * by Hypercore's stored hint:
   * below `head.length` when blocks are missing (a replica's fetch cut
   * short: Hypercore stores the signed head before the blocks arrive) or
   * cleared (erased). The hint is written after the blocks, so it may lag
   * behind them, never run ahead.
   */
  readonly contiguousLength: number
}

/** A chain as stored: its key and the length of its last signed head. */
export interface StoredLength {
  readonly key: Uint8Array
  readonly length: number
}

/**
 * The stored length of each core in `keys`, in order (0 for a core with no
 * signed head yet): undefined where the core is not stored. Reads the head
 * records only.
 */
export async function readStoredLengths (store: Corestore, keys: readonly Uint8Array[]): Promise<Array<StoredLength | undefined>> {
  if (keys.length === 0) return []
  const infos = await store.storage.getInfos(keys.map((key) => Hypercore.discoveryKey(key)), { auth: false, head: true, hints: false })
  return keys.map((key, i) => {
    const info = infos[i]
    return info === null || info === undefined ? undefined : { key, length: info.head?.length ?? 0 }
  })
}

/**
 * The stored head of each core in `keys`, in order: undefined where the
 * core is not stored or has no signed head yet (empty).
 */
export async function readStoredHeads (store: Corestore, keys: readonly Uint8Array[]): Promise<Array<StoredChainHead | undefined>> {
  if (keys.length === 0) return []
  // `auth` carries a writer's key pair too: only the signer's public key is taken from it, copied.
  const infos = await store.storage.getInfos(keys.map((key) => Hypercore.discoveryKey(key)), { auth: true, head: true, hints: true })
  const marks = await readVerifiedMarks(store, infos.map((info) => info?.core?.dataPointer))
  return keys.map((key, i) => {
    const info = infos[i]
    const head = info?.head
    const signer = info?.auth?.manifest?.signers[0]?.publicKey
    const sig = rawHeadSignature(head?.signature)
    if (head === null || head === undefined || head.length === 0 || signer === undefined || sig === null) return undefined
    // A replica's blocks count only as far as it checked them: a fetch stopped (or a process killed) between storing blocks and
    // checking them leaves them held but unchecked, and its head must not look complete. A custodian checked all it wrote.
    const mark = marks[i]
    const writable = info?.auth?.keyPair !== undefined && info.auth.keyPair !== null
    const checked = writable ? head.length : (mark !== undefined && mark.fork === head.fork ? mark.length : 0)
    const contiguousLength = Math.min(head.length, info?.hints?.contiguousLength ?? 0, checked)
    const packed = packHead(key, signer, head.length, head.fork, head.rootHash, sig)
    const prologue = info?.auth?.manifest?.prologue
    // A continuation core's signer owns its key only with the manifest prologue, so its head carries it.
    const withPrologue = prologue == null ? packed : { ...packed, prologue: { hash: new Uint8Array(prologue.hash), length: prologue.length } }
    return { head: withPrologue, contiguousLength }
  })
}

/** Each core's verified mark (verified-mark.ts), read from its user data in one RocksDB batch; undefined where there is none. */
async function readVerifiedMarks (store: Corestore, pointers: ReadonlyArray<number | undefined>): Promise<Array<VerifiedMark | undefined>> {
  const rx = store.storage.db.read({ autoDestroy: true })
  const reads = pointers.map((pointer) => pointer === undefined ? Promise.resolve(null) : rx.get(storageKeys.core.userData(pointer, VERIFIED_MARK_KEY)))
  rx.tryFlush()
  return (await Promise.all(reads)).map((bytes) => decodeVerifiedMark(bytes))
}

/**
 * Copies what a head needs out of the records read (a view would keep the
 * whole record alive — for a writer's core, one holding its secret key)
 * into one 128-byte buffer: signer, root and signature share it, and `key`
 * is the caller's own array. Measured: about 0.6 KB a head in memory,
 * against 0.8 KB with three separate arrays.
 */
function packHead (key: Uint8Array, signer: Uint8Array, length: number, fork: number, root: Uint8Array, sig: Uint8Array): StoredSignedHead {
  const bytes = new Uint8Array(128)
  bytes.set(signer, 0)
  bytes.set(root, 32)
  bytes.set(sig, 64)
  return { key, signer: bytes.subarray(0, 32), length, fork, root: bytes.subarray(32, 64), sig: bytes.subarray(64, 128) }
}
