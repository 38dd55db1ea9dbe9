/**
 * Looks for data in the raw bytes of every file under a directory — the
 * check that an erasure left nothing recoverable behind. Health data is
 * stored as CBOR (UTF-8 text, IEEE 754 big-endian doubles) in the chains and
 * as SQLite records (UTF-8 text, big-endian doubles and integers) in the
 * query index, so a marker is looked for as those bytes. RocksDB's logs are
 * read twice: raw, and as their records joined (a record is cut at each
 * 32 KiB block's end, see rocksdbLogPayloads).
 *
 * Markers are random per test run, so a hit can only be the data a test
 * wrote, never a coincidence in unrelated bytes.
 */
import { randomBytes } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'

export interface Marker {
  /** What the marker stands for, in failure messages. */
  readonly name: string
  readonly bytes: Uint8Array
}

export interface Hit {
  readonly marker: string
  /** The file's path relative to the directory scanned. */
  readonly file: string
}

/** A text marker `<prefix>-<16 random hex digits>`, unique per call. */
export function markerText (prefix = 'ERASE-ME'): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`
}

export function textMarker (text: string): Marker {
  return { name: text, bytes: Buffer.from(text, 'utf8') }
}

/** A coordinate no other test or run can share: 12 random decimal places, so it is stored as a full double everywhere. */
export function randomCoordinate (min: number, max: number): number {
  const x = min + (max - min) * (randomBytes(6).readUIntBE(0, 6) / 2 ** 48)
  // A double that a float (or half) cannot hold exactly: CBOR encoders store floats in their shortest exact form.
  return Math.fround(x) === x ? randomCoordinate(min, max) : x
}

/** A number as a big-endian double: its bytes in CBOR (after 0xfb) and in an SQLite record. */
export function doubleMarker (name: string, value: number): Marker {
  const bytes = Buffer.alloc(8)
  bytes.writeDoubleBE(value)
  return { name: `${name} (double ${value})`, bytes }
}

/** An integer as an SQLite record stores it: big-endian in the fewest of 1, 2, 3, 4, 6 or 8 bytes that hold it (0 and 1 take none). */
export function sqliteInteger (value: number): Buffer {
  if (!Number.isSafeInteger(value)) throw new RangeError(`expected a safe integer, got ${value}`)
  if (value === 0 || value === 1) return Buffer.alloc(0)
  const size = [1, 2, 3, 4, 6].find((n) => value >= -(2 ** (8 * n - 1)) && value < 2 ** (8 * n - 1)) ?? 8
  const bytes = Buffer.alloc(size)
  if (size === 8) bytes.writeBigInt64BE(BigInt(value))
  else bytes.writeIntBE(value, 0, size)
  return bytes
}

/**
 * A point's entry in the query index's `locations_by_cell` index: its grid
 * cell and then its time, side by side in the index record (the table row
 * holds them the other way round, time first). `cell` is the index's
 * `cellOf(lat, lon)`.
 */
export function cellMarker (name: string, cell: number, time: number): Marker {
  return { name: `${name} (grid cell ${cell} at ${time})`, bytes: Buffer.concat([sqliteInteger(cell), sqliteInteger(time)]) }
}

/** Every regular file under `dir`, recursively. */
export async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await filesUnder(path))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

/**
 * Each (marker, file) where the marker's bytes occur in the file under `dir`.
 * A running node renames and deletes files under it (atomic writes of its
 * markers, the store's compactions): a file gone between the listing and its
 * read may live on under a name the listing missed, so the whole scan starts
 * again rather than skip it.
 */
export async function findOnDisk (dir: string, markers: readonly Marker[]): Promise<Hit[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scanOnce(dir, markers)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 10) throw err
    }
  }
}

async function scanOnce (dir: string, markers: readonly Marker[]): Promise<Hit[]> {
  const hits: Hit[] = []
  for (const path of await filesUnder(dir)) {
    const raw = await readFile(path)
    const views = isRocksdbLog(path) ? [raw, rocksdbLogPayloads(raw)] : [raw]
    for (const marker of markers) {
      const needle = Buffer.from(marker.bytes.buffer, marker.bytes.byteOffset, marker.bytes.byteLength)
      if (views.some((bytes) => bytes.includes(needle))) hits.push({ marker: marker.name, file: relative(dir, path) })
    }
  }
  return hits
}

/** RocksDB's write-ahead logs (`000123.log`) and manifests (`MANIFEST-000005`) share the log format below. */
function isRocksdbLog (path: string): boolean {
  return /(^|\/)(\d+\.log|MANIFEST-\d+)$/.test(path)
}

/**
 * RocksDB's log format: 32 KiB blocks; a record is a header (checksum 4,
 * length 2, type 1; then 4 bytes of log number in the recyclable types) and
 * its payload.
 */
const LOG_BLOCK = 32 * 1024
const RECYCLABLE_TYPES = new Set([5, 6, 7, 8, 11])

/**
 * The payloads of a RocksDB log's records, joined. A record that would
 * cross a block's end is cut there, and its next piece starts the next
 * block behind a header of its own: a value written once can sit in a log
 * file in two pieces, with eleven bytes or so between them, and a scan of
 * the raw bytes would not see it. Joined, each record's payload (a write
 * batch, with its values whole) is in one piece.
 */
export function rocksdbLogPayloads (bytes: Uint8Array): Buffer {
  const pieces: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    const blockEnd = Math.min(bytes.length, (Math.floor(at / LOG_BLOCK) + 1) * LOG_BLOCK)
    const type = bytes[at + 6]
    const headerSize = type !== undefined && RECYCLABLE_TYPES.has(type) ? 11 : 7
    if (blockEnd - at < headerSize) { at = blockEnd; continue } // the block's trailer: zeros, no record fits
    const length = bytes[at + 4]! | (bytes[at + 5]! << 8)
    if (type === 0 && length === 0) { at = blockEnd; continue } // preallocated space not written yet
    pieces.push(bytes.subarray(at + headerSize, Math.min(blockEnd, at + headerSize + length)))
    at += headerSize + length
  }
  return Buffer.concat(pieces)
}

/** The markers found nowhere under `dir`. */
export async function missingOnDisk (dir: string, markers: readonly Marker[]): Promise<string[]> {
  const found = new Set((await findOnDisk(dir, markers)).map((h) => h.marker))
  return markers.filter((m) => !found.has(m.name)).map((m) => m.name)
}

/**
 * An Ed25519 secret key as it could sit in a file: libsodium's 64-byte
 * secret key (seed ‖ public key, what `SigningKeyPair.secretKey` holds and
 * Corestore keeps for a core it writes), its 32-byte seed alone, and the
 * seed in hex (how key files store it). Any of them on disk is the key.
 */
export function secretKeyMarkers (name: string, secretKey: Uint8Array): Marker[] {
  const seed = secretKey.subarray(0, 32)
  return [
    { name: `${name} (64-byte secret key)`, bytes: secretKey },
    { name: `${name} (32-byte seed)`, bytes: seed },
    textMarker(Buffer.from(seed).toString('hex'))
  ].map((m, i) => i === 2 ? { ...m, name: `${name} (seed in hex)` } : m)
}
