/**
 * The catalog's checkpoint: its tables as of a catalog length, in a file
 * beside the store, so that opening a node holding a million chains reads
 * one file and the records after it instead of a million records. The
 * catalog core stays the truth: a checkpoint is used only if it names the
 * catalog core it was taken of and the hash of that core's Merkle tree at
 * its length still matches (a checkpoint of another store, or of a catalog
 * that was rolled back and written again, does not), and its bytes hash to
 * the digest it ends with. Anything else, the file is ignored and the
 * catalog read in full.
 *
 * Format v1, integers big-endian, a string being u16 length + UTF-8:
 *
 *   magic "HCCATCKP" | u16 version | u64 length | catalog key (32) | tree hash (32)
 *   u8 has registry [+ registry key (32)]
 *   u32 slots n | n keys (32 each) | n users (string)          the key table, slot by slot, and each slot's user
 *   u32 m | m × (u32 slot, u16 0xffff or string)               each user's chain: its slot, its user (0xffff: the slot's user)
 *   u32 c | c × (from key (32), string user, u64 length, successor key (32))   closed chains
 *   u32 s | s × (string user, u16 + sign key, u32 generation)  rekeyed users' signing keys in force
 *   u32 b | b × (u16 + sign key, string user)                  the user of each such key
 *   SHA-256 of every byte before it (32)
 */
import { createHash } from 'node:crypto'
import type { UserId } from '@healthchain/core'
import { LedgerError } from './errors.js'
import { replaceDurably } from './owner-only-file.js'

export const CHECKPOINT_MAGIC = new TextEncoder().encode('HCCATCKP')
export const CHECKPOINT_VERSION = 1
const KEY = 32
const DIGEST = 32
/** In a chain entry: the user is the slot's own (the usual case: a million user ids are not written twice). */
const SLOT_USER = 0xffff

export interface CheckpointClosed {
  readonly from: Uint8Array
  readonly user: UserId
  readonly length: number
  readonly successor: Uint8Array
}

/** What the catalog holds, in the order its maps hold it (a checkpoint opens to the same iteration order as a full read). */
export interface CatalogTables {
  readonly registryKey: Uint8Array | undefined
  /** The key table's keys, 32 bytes a slot, slot by slot. */
  readonly keys: Uint8Array
  readonly userOfSlot: readonly UserId[]
  /** Each user's chain: [user, slot]. */
  readonly chains: ReadonlyArray<readonly [UserId, number]>
  readonly closed: readonly CheckpointClosed[]
  readonly signs: ReadonlyArray<readonly [UserId, { readonly sign: Uint8Array, readonly generation: number }]>
  readonly usersBySign: ReadonlyArray<readonly [Uint8Array, UserId]>
}

export interface CatalogCheckpoint {
  /** The catalog core's key. */
  readonly catalogKey: Uint8Array
  /** The catalog length the tables are as of: records [0, length) are in them. */
  readonly length: number
  /** The catalog core's tree hash at `length`. */
  readonly treeHash: Uint8Array
  readonly tables: CatalogTables
}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

class Writer {
  private buf = new Uint8Array(1 << 16)
  private view = new DataView(this.buf.buffer)
  at = 0

  private room (n: number): void {
    if (this.at + n <= this.buf.length) return
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n))
    grown.set(this.buf.subarray(0, this.at))
    this.buf = grown
    this.view = new DataView(grown.buffer)
  }

  bytes (b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.at); this.at += b.length }
  u8 (n: number): void { this.room(1); this.buf[this.at++] = n }
  u16 (n: number): void { this.room(2); this.view.setUint16(this.at, n); this.at += 2 }
  u32 (n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`expected a u32, got ${n}`)
    this.room(4); this.view.setUint32(this.at, n); this.at += 4
  }

  u64 (n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a safe non-negative integer, got ${n}`)
    this.room(8); this.view.setBigUint64(this.at, BigInt(n)); this.at += 8
  }

  key (k: Uint8Array): void {
    if (k.length !== KEY) throw new RangeError(`expected a ${KEY}-byte key, got ${k.length}`)
    this.bytes(k)
  }

  sized (b: Uint8Array): void {
    if (b.length >= SLOT_USER) throw new RangeError(`a string or key of ${b.length} bytes does not fit a checkpoint`)
    this.u16(b.length); this.bytes(b)
  }

  string (s: string): void {
    let ascii = s.length < SLOT_USER
    for (let i = 0; ascii && i < s.length; i++) ascii = s.charCodeAt(i) < 0x80
    if (!ascii) { this.sized(utf8.encode(s)); return }
    // Most strings are user ids (ASCII): written without an encoder call each.
    this.u16(s.length); this.room(s.length)
    for (let i = 0; i < s.length; i++) this.buf[this.at++] = s.charCodeAt(i)
  }

  done (): Uint8Array { return this.buf.subarray(0, this.at) }
}

function malformed (message: string): LedgerError { return new LedgerError('MALFORMED', `catalog checkpoint: ${message}`) }

class Reader {
  private readonly view: DataView
  /** The same bytes as a Buffer, for its native latin1 decoding: a million user ids are read in a tenth of the time String.fromCharCode takes. */
  private readonly node: Buffer
  at = 0
  constructor (private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.node = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  need (n: number): void { if (this.at + n > this.buf.length) throw malformed(`truncated at byte ${this.at}`) }
  bytes (n: number): Uint8Array { this.need(n); const b = this.buf.slice(this.at, this.at + n); this.at += n; return b }
  u8 (): number { this.need(1); return this.buf[this.at++]! }
  u16 (): number { this.need(2); const n = this.view.getUint16(this.at); this.at += 2; return n }
  u32 (): number { this.need(4); const n = this.view.getUint32(this.at); this.at += 4; return n }
  u64 (): number {
    this.need(8)
    const n = this.view.getBigUint64(this.at)
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`a length at byte ${this.at} is out of range`)
    this.at += 8
    return Number(n)
  }

  /** A count of items of at least `min` bytes each: refused before anything is allocated for it if the bytes left cannot hold it. */
  count (min: number): number {
    const n = this.u32()
    if (n * min > this.buf.length - this.at) throw malformed(`a count of ${n} at byte ${this.at - 4} exceeds the bytes left`)
    return n
  }

  sized (): Uint8Array { return this.bytes(this.u16()) }

  string (length = this.u16()): string {
    this.need(length)
    const b = this.buf.subarray(this.at, this.at + length)
    this.at += length
    let ascii = true
    for (let i = 0; ascii && i < b.length; i++) ascii = b[i]! < 0x80
    if (ascii) return this.node.toString('latin1', this.at - length, this.at)
    try {
      return utf8Strict.decode(b)
    } catch (err) {
      throw new LedgerError('MALFORMED', `catalog checkpoint: a string at byte ${this.at - length} is not UTF-8`, { cause: err })
    }
  }
}

export function encodeCatalogCheckpoint (checkpoint: CatalogCheckpoint): Uint8Array {
  const { tables } = checkpoint
  const slots = tables.userOfSlot.length
  if (tables.keys.length !== slots * KEY) throw new RangeError(`expected ${slots} keys of ${KEY} bytes, got ${tables.keys.length} bytes`)
  const w = new Writer()
  w.bytes(CHECKPOINT_MAGIC)
  w.u16(CHECKPOINT_VERSION)
  w.u64(checkpoint.length)
  w.key(checkpoint.catalogKey)
  w.key(checkpoint.treeHash)
  w.u8(tables.registryKey === undefined ? 0 : 1)
  if (tables.registryKey !== undefined) w.key(tables.registryKey)
  w.u32(slots)
  w.bytes(tables.keys)
  for (const user of tables.userOfSlot) w.string(user)
  w.u32(tables.chains.length)
  for (const [user, slot] of tables.chains) {
    if (slot >= slots) throw new RangeError(`chain slot ${slot} out of ${slots}`)
    w.u32(slot)
    if (tables.userOfSlot[slot] === user) w.u16(SLOT_USER)
    else w.string(user)
  }
  w.u32(tables.closed.length)
  for (const closed of tables.closed) {
    w.key(closed.from); w.string(closed.user); w.u64(closed.length); w.key(closed.successor)
  }
  w.u32(tables.signs.length)
  for (const [user, { sign, generation }] of tables.signs) { w.string(user); w.sized(sign); w.u32(generation) }
  w.u32(tables.usersBySign.length)
  for (const [sign, user] of tables.usersBySign) { w.sized(sign); w.string(user) }
  w.bytes(digest(w.done()))
  return w.done().slice()
}

/** Decodes a checkpoint, checking its digest first: MALFORMED (truncated, corrupted, inconsistent) or UNSUPPORTED_VERSION. */
export function decodeCatalogCheckpoint (input: Uint8Array): CatalogCheckpoint {
  // A plain view of a Buffer: its slice() would share memory and hand back Buffers.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  if (bytes.length < CHECKPOINT_MAGIC.length + 2 + DIGEST) throw malformed(`${bytes.length} bytes is too short`)
  for (let i = 0; i < CHECKPOINT_MAGIC.length; i++) if (bytes[i] !== CHECKPOINT_MAGIC[i]) throw malformed('not a catalog checkpoint (magic)')
  const version = (bytes[8]! << 8) | bytes[9]!
  if (version !== CHECKPOINT_VERSION) throw new LedgerError('UNSUPPORTED_VERSION', `catalog checkpoint version ${version}; this node reads ${CHECKPOINT_VERSION}`)
  const body = bytes.subarray(0, bytes.length - DIGEST)
  const stated = bytes.subarray(bytes.length - DIGEST)
  const actual = digest(body)
  for (let i = 0; i < DIGEST; i++) if (stated[i] !== actual[i]) throw malformed('its digest does not match its bytes (corrupted or truncated)')
  const r = new Reader(body)
  r.at = CHECKPOINT_MAGIC.length + 2
  const length = r.u64()
  const catalogKey = r.bytes(KEY)
  const treeHash = r.bytes(KEY)
  const flag = r.u8()
  if (flag > 1) throw malformed(`registry flag ${flag}`)
  const registryKey = flag === 1 ? r.bytes(KEY) : undefined
  const slots = r.count(KEY + 2)
  const keys = r.bytes(slots * KEY)
  const userOfSlot: UserId[] = new Array(slots)
  for (let i = 0; i < slots; i++) userOfSlot[i] = r.string() as UserId
  const chains: Array<[UserId, number]> = new Array(r.count(6))
  for (let i = 0; i < chains.length; i++) {
    const slot = r.u32()
    if (slot >= slots) throw malformed(`chain slot ${slot} out of ${slots}`)
    const n = r.u16()
    chains[i] = [(n === SLOT_USER ? userOfSlot[slot]! : r.string(n)) as UserId, slot]
  }
  const closed: CheckpointClosed[] = new Array(r.count(2 * KEY + 10))
  for (let i = 0; i < closed.length; i++) {
    closed[i] = { from: r.bytes(KEY), user: r.string() as UserId, length: r.u64(), successor: r.bytes(KEY) }
  }
  const signs: Array<[UserId, { sign: Uint8Array, generation: number }]> = new Array(r.count(8))
  for (let i = 0; i < signs.length; i++) signs[i] = [r.string() as UserId, { sign: r.sized(), generation: r.u32() }]
  const usersBySign: Array<[Uint8Array, UserId]> = new Array(r.count(4))
  for (let i = 0; i < usersBySign.length; i++) usersBySign[i] = [r.sized(), r.string() as UserId]
  if (r.at !== body.length) throw malformed(`${body.length - r.at} bytes after the tables`)
  return { catalogKey, length, treeHash, tables: { registryKey, keys, userOfSlot, chains, closed, signs, usersBySign } }
}

function digest (bytes: Uint8Array): Uint8Array { return new Uint8Array(createHash('sha256').update(bytes).digest()) }

/**
 * Writes `bytes` to `path` so that a crash leaves the old file or the new
 * one (owner-only-file.ts), through a temporary file beside it of one fixed
 * name, so that crashes leave no litter that grows.
 */
export async function writeFileAtomically (path: string, bytes: Uint8Array): Promise<void> {
  await replaceDurably(path, `${path}.tmp`, bytes, 'w')
}

const warned = new Set<string>()

/** Without a `warn`, each kind of message once a process, as a Node.js warning. */
export function warnOnce (message: string): void {
  const kind = message.replace(/\(.*\)/, '')
  if (warned.has(kind)) return
  warned.add(kind)
  process.emitWarning(message, 'HealthchainLedgerWarning')
}
