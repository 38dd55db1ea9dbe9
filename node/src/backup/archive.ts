/**
 * The backup file: one file, owner-only (0600), read and written as a stream.
 *
 *   magic 'HCBACKUP' (8 bytes) | format version (u32 BE) | manifest length (u32 BE) | manifest (UTF-8 JSON)
 *   | each part's bytes, in the manifest's order | SHA-256 of every byte before it (32 bytes)
 *
 * The manifest names each part (a path relative to the data directory, its
 * size and SHA-256), so a reader checks every part and the trailer before it
 * trusts anything: a truncated, corrupted or extended file is BACKUP_INVALID,
 * a newer format BACKUP_VERSION. The version is read before the manifest, so
 * a later format may change everything after it.
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { z } from 'zod'
import { NodeError } from '../errors.js'

export const BACKUP_MAGIC = 'HCBACKUP'
export const BACKUP_FORMAT = 1
const HEADER_BYTES = 16
const TRAILER_BYTES = 32
/** A manifest larger than this is not one we wrote (a million parts' names fit well within it). */
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024

/** The data directory's folders a backup holds; a part anywhere else (a config, a marker, a socket) is not one we wrote. */
const PART_ROOTS = ['keys', 'store']

function controlCharacter (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return true
  return false
}

/**
 * A part's path as the writer makes it: `keys/…` or `store/…`, '/'-separated,
 * every segment a plain name (not empty, `.` or `..`; no backslash or control
 * character), so joining it under the target can only land inside it.
 */
function plainPartPath (path: string): boolean {
  const segments = path.split('/')
  return segments.length >= 2 && PART_ROOTS.includes(segments[0]!) &&
    segments.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\') && !controlCharacter(s))
}

/** Two parts at one path, or a part that is another's folder, cannot both be written: the manifest is not one we wrote. */
function clashingPaths (paths: readonly string[]): boolean {
  const all = new Set(paths)
  if (all.size !== paths.length) return true
  return paths.some((p) => {
    const segments = p.split('/')
    for (let k = 1; k < segments.length; k++) if (all.has(segments.slice(0, k).join('/'))) return true
    return false
  })
}

const part = z.object({
  path: z.string().min(1).max(1000).refine(plainPartPath, 'a path under keys/ or store/ made of plain names'),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/)
}).strict()

const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  node: z.string(),
  role: z.string(),
  institution: z.string(),
  createdAt: z.string(),
  /** Each chain held, with the length it had on disk when the backup started: the backup holds at least that much. */
  chains: z.array(z.object({ user: z.string(), length: z.number().int().nonnegative() }).strict()),
  parts: z.array(part).refine((parts) => !clashingPaths(parts.map((p) => p.path)), 'two parts at one path, or a part inside another')
}).strict()

export type BackupManifest = z.infer<typeof manifestSchema>
export type BackupPart = BackupManifest['parts'][number]

/** Bytes of one part, as the writer gets them. */
export interface PartSource {
  readonly path: string
  readonly file: string
}

function header (manifest: Uint8Array): Buffer {
  const head = Buffer.alloc(HEADER_BYTES)
  head.write(BACKUP_MAGIC, 0, 'latin1')
  head.writeUInt32BE(BACKUP_FORMAT, 8)
  head.writeUInt32BE(manifest.byteLength, 12)
  return head
}

async function hashFile (file: string): Promise<{ size: number, sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk)
    size += chunk.byteLength
  }
  return { size, sha256: hash.digest('hex') }
}

/**
 * Writes the backup to `out` (created 0600; refused if it exists): the parts
 * are hashed first (they do not change: they are the backup's own staged copy),
 * then written after the manifest. `onPart` is told each part written.
 */
export async function writeArchive (
  out: string, meta: Omit<BackupManifest, 'format' | 'parts'>, sources: readonly PartSource[], onPart: (done: number, total: number) => void = () => {}
): Promise<BackupManifest> {
  const parts: BackupPart[] = []
  for (const source of sources) parts.push({ path: source.path, ...await hashFile(source.file) })
  const manifest: BackupManifest = { format: BACKUP_FORMAT, ...meta, parts }
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8')
  let handle: FileHandle
  try {
    handle = await open(out, 'wx', 0o600)
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${out} cannot be created (it must not exist yet)`, { cause })
  }
  try {
    const total = createHash('sha256')
    const put = async (bytes: Uint8Array): Promise<void> => {
      total.update(bytes)
      await handle.write(bytes)
    }
    await put(header(manifestBytes))
    await put(manifestBytes)
    for (const [i, source] of sources.entries()) {
      let written = 0
      for await (const chunk of createReadStream(source.file) as AsyncIterable<Buffer>) {
        await put(chunk)
        written += chunk.byteLength
      }
      if (written !== parts[i]!.size) throw new NodeError('DATA_FILE', `${source.path} changed while the backup was written`)
      onPart(i + 1, sources.length)
    }
    await handle.write(total.digest())
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    throw err
  }
  await handle.close()
  return manifest
}

function invalid (message: string, cause?: unknown): NodeError {
  return new NodeError('BACKUP_INVALID', message, cause === undefined ? {} : { cause })
}

/** Reads exactly `length` bytes at `position`, BACKUP_INVALID when the file ends first. */
async function readExactly (handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done)
    if (bytesRead === 0) throw invalid('the backup file is truncated')
    done += bytesRead
  }
  return buffer
}

/** A part's bytes as read, in chunks, for restore to write. */
export type PartSink = (part: BackupPart, chunks: AsyncIterable<Buffer>) => Promise<void>

/**
 * Reads a backup from start to end, checking the header, the manifest, every
 * part's size and hash and the trailer; `sink` (optional) gets each part's
 * bytes as they are read. The caller must not trust what the sink wrote
 * unless this resolves.
 */
export async function readArchive (file: string, sink?: PartSink): Promise<BackupManifest> {
  let handle: FileHandle
  try {
    handle = await open(file, 'r')
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${file} cannot be opened`, { cause })
  }
  try {
    const size = (await handle.stat()).size
    const total = createHash('sha256')
    const head = await readExactly(handle, 0, HEADER_BYTES)
    if (head.toString('latin1', 0, 8) !== BACKUP_MAGIC) throw invalid('not a healthchain backup (no HCBACKUP header)')
    const format = head.readUInt32BE(8)
    if (format > BACKUP_FORMAT) throw new NodeError('BACKUP_VERSION', `the backup is format ${format}; this version of healthchain reads format ${BACKUP_FORMAT}: restore it with a newer release`)
    if (format !== BACKUP_FORMAT) throw invalid(`unknown backup format ${format}`)
    const manifestLength = head.readUInt32BE(12)
    if (manifestLength > MAX_MANIFEST_BYTES) throw invalid('the backup\'s manifest is too large')
    // Checked before the manifest's buffer is allocated: a forged length must not cost memory the file does not back.
    if (HEADER_BYTES + manifestLength + TRAILER_BYTES > size) throw invalid('the backup file is truncated')
    const manifestBytes = await readExactly(handle, HEADER_BYTES, manifestLength)
    total.update(head).update(manifestBytes)
    let manifest: BackupManifest
    try {
      manifest = manifestSchema.parse(JSON.parse(manifestBytes.toString('utf8')))
    } catch (cause) {
      throw invalid('the backup\'s manifest is malformed', cause)
    }
    let position = HEADER_BYTES + manifestLength
    const expected = position + manifest.parts.reduce((sum, p) => sum + p.size, 0) + TRAILER_BYTES
    if (size < expected) throw invalid('the backup file is truncated')
    if (size > expected) throw invalid('the backup file is longer than its manifest says')
    for (const p of manifest.parts) {
      const hash = createHash('sha256')
      const chunks = partChunks(handle, position, p.size, [hash, total])
      if (sink === undefined) await drain(chunks)
      else await sink(p, chunks)
      if (hash.digest('hex') !== p.sha256) throw invalid(`part ${p.path} does not match its hash`)
      position += p.size
    }
    const trailer = await readExactly(handle, position, TRAILER_BYTES)
    if (!total.digest().equals(trailer)) throw invalid('the backup file does not match its checksum')
    return manifest
  } finally {
    await handle.close()
  }
}

/** Reads a part to its end without keeping it: the chunks are hashed as they are read. */
async function drain (chunks: AsyncIterable<Buffer>): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]()
  while (!(await iterator.next()).done) { /* hashed by partChunks */ }
}

async function * partChunks (handle: FileHandle, start: number, size: number, hashes: readonly Hash[]): AsyncGenerator<Buffer> {
  const CHUNK = 1 << 20
  for (let at = 0; at < size; at += CHUNK) {
    const chunk = await readExactly(handle, start + at, Math.min(CHUNK, size - at))
    for (const hash of hashes) hash.update(chunk)
    yield chunk
  }
}
