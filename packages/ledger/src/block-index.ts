/**
 * A durable index from short string keys to positions of one core, kept in
 * the core's local user data (RocksDB, beside the core; never replicated),
 * so what would otherwise be held in memory for every block of a long core
 * is read from disk when asked for.
 *
 * The index covers a prefix of the core: positions [0, `indexed`) of its
 * current fork, recorded by a mark written in the same storage batch as the
 * keys it covers, so a crash leaves the mark at or behind the keys, never
 * ahead. The owner re-indexes what follows the mark from the blocks (it
 * reads them anyway when it opens the core). A mark of another fork (the
 * core was truncated) counts as nothing indexed, and keys are filed under the
 * fork, so keys of a truncated history are never taken for the current one.
 *
 * Layout, version 1, under a name N of the owner's:
 *   N              mark: u8 version = 1 ‖ u64 BE fork ‖ u64 BE indexed length
 *   N/<fork>/<key> u64 BE position
 * Keys of one owner have one length, so RocksDB's order of the encoded keys
 * (length-prefixed strings) is their order as strings: `range` relies on it.
 *
 * Reads and writes go through hypercore-storage's transactions of the core's
 * own storage (hypercore 11.37.1 / hypercore-storage 3.3.1, pinned: these are
 * the calls Hypercore's getUserData and setUserData make, batched), one read
 * batch for many keys and one write batch for many keys and the mark.
 */
import type Hypercore from 'hypercore'
import { createRequire } from 'node:module'

const VERSION = 1
const MARK_SIZE = 17

interface CoreStorage {
  read (): { getUserData (key: string): Promise<Uint8Array | null>, tryFlush (): void }
  write (): { putUserData (key: string, value: Uint8Array): void, flush (): Promise<unknown> }
  readonly db: { iterator (range: { gte: Uint8Array, lt: Uint8Array, reverse: boolean }): AsyncIterable<{ key: Uint8Array, value: Uint8Array }> }
  readonly core: { readonly dataPointer: number }
}

// hypercore-storage's key layout (pinned, as in stored-heads.ts): the user data key of a core, for a range read newest first.
const storageKeys = createRequire(import.meta.url)('hypercore-storage/lib/keys.js') as {
  core: { userData (dataPointer: number, key: string): Uint8Array }
}

function storageOf (core: Hypercore): CoreStorage {
  return (core as unknown as { state: { storage: CoreStorage } }).state.storage
}

export function encodeIndexMark (fork: number, indexed: number): Uint8Array {
  const out = new Uint8Array(MARK_SIZE)
  const view = new DataView(out.buffer)
  view.setUint8(0, VERSION)
  view.setBigUint64(1, BigInt(fork))
  view.setBigUint64(9, BigInt(indexed))
  return out
}

/** The mark in `bytes`, or undefined when it is not a version-1 mark of safe integers. */
export function decodeIndexMark (bytes: Uint8Array | null | undefined): { fork: number, indexed: number } | undefined {
  if (bytes === null || bytes === undefined || bytes.byteLength !== MARK_SIZE) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint8(0) !== VERSION) return undefined
  const fork = view.getBigUint64(1)
  const indexed = view.getBigUint64(9)
  if (fork > BigInt(Number.MAX_SAFE_INTEGER) || indexed > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
  return { fork: Number(fork), indexed: Number(indexed) }
}

function encodePosition (seq: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(seq))
  return out
}

function decodePosition (bytes: Uint8Array | null): number | undefined {
  if (bytes === null || bytes.byteLength !== 8) return undefined
  const seq = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0)
  return seq > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(seq)
}

export class BlockIndex {
  private readonly core: Hypercore
  private readonly name: string
  private readonly fork: number
  #indexed: number

  private constructor (core: Hypercore, name: string, fork: number, indexed: number) {
    this.core = core
    this.name = name
    this.fork = fork
    this.#indexed = indexed
  }

  /** The index named `name` of `core` (ready): what its mark says is indexed, nothing if the mark is of another fork. */
  static async open (core: Hypercore, name: string): Promise<BlockIndex> {
    await core.ready()
    const mark = decodeIndexMark(await core.getUserData(name))
    const indexed = mark === undefined || mark.fork !== core.fork ? 0 : Math.min(mark.indexed, core.length)
    return new BlockIndex(core, name, core.fork, indexed)
  }

  /** Positions [0, indexed) of the core have their keys on disk. */
  get indexed (): number { return this.#indexed }

  private keyOf (key: string): string { return `${this.name}/${this.fork}/${key}` }

  /** The positions of those `keys` that are on disk, read in one batch. */
  async lookup (keys: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>()
    if (keys.length === 0) return found
    const rx = storageOf(this.core).read()
    const reads = keys.map((key) => rx.getUserData(this.keyOf(key)))
    rx.tryFlush()
    const values = await Promise.all(reads)
    keys.forEach((key, i) => {
      const seq = decodePosition(values[i] ?? null)
      if (seq !== undefined) found.set(key, seq)
    })
    return found
  }

  /** Writes `entries` and the mark `indexed` in one storage batch: positions [0, indexed) are then indexed. */
  async write (entries: Iterable<readonly [string, number]>, indexed: number): Promise<void> {
    const tx = storageOf(this.core).write()
    for (const [key, seq] of entries) tx.putUserData(this.keyOf(key), encodePosition(seq))
    tx.putUserData(this.name, encodeIndexMark(this.fork, indexed))
    await tx.flush()
    this.#indexed = Math.max(this.#indexed, indexed)
  }

  /** Keys in [gte, lt) with their positions, in key order (newest first with `reverse`), at most `limit`. */
  async range (gte: string, lt: string, opts: { reverse?: boolean, limit?: number } = {}): Promise<Array<{ key: string, seq: number }>> {
    const storage = storageOf(this.core)
    const pointer = storage.core.dataPointer
    const prefix = this.keyOf('')
    const out: Array<{ key: string, seq: number }> = []
    const limit = opts.limit ?? Infinity
    if (limit <= 0) return out
    const bound = (key: string): Uint8Array => storageKeys.core.userData(pointer, this.keyOf(key))
    const range = { gte: bound(gte), lt: bound(lt), reverse: opts.reverse === true }
    const decoder = new TextDecoder()
    for await (const { key, value } of storage.db.iterator(range)) {
      const seq = decodePosition(value)
      // The key's tail after the prefix: the encoded key ends with the user data key's UTF-8 bytes.
      const text = decoder.decode(key)
      const at = text.lastIndexOf(prefix)
      if (seq === undefined || at < 0) continue
      out.push({ key: text.slice(at + prefix.length), seq })
      if (out.length >= limit) break
    }
    return out
  }
}
