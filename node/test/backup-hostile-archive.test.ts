/**
 * A hostile backup file handed to an operator: the archive is crafted byte by
 * byte (the format, with a valid trailer where the attack needs one), so the
 * reader's checks, not the writer's care, are what is tested. Every such file
 * is refused with a typed error, nothing is written outside the target, and
 * no target or temporary directory is left behind.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm, symlink, mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BACKUP_FORMAT, NodeError, restoreBackup, verifyRestored } from '../src/index.js'

const BACKUP_MAGIC = 'HCBACKUP'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'hc-hostile-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

interface CraftedPart { path: string, bytes: Buffer, size?: number, sha256?: string }

/** A backup file whose manifest lists `parts` (declared size and hash overridable), with a correct trailer. */
function craft (parts: CraftedPart[], options: { manifestLength?: number } = {}): Buffer {
  const manifest = {
    format: BACKUP_FORMAT,
    node: 'hospital-a',
    role: 'examiner',
    institution: 'hospital-a',
    createdAt: new Date(0).toISOString(),
    chains: [],
    parts: parts.map((p) => ({ path: p.path, size: p.size ?? p.bytes.byteLength, sha256: p.sha256 ?? createHash('sha256').update(p.bytes).digest('hex') }))
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8')
  const head = Buffer.alloc(16)
  head.write(BACKUP_MAGIC, 0, 'latin1')
  head.writeUInt32BE(BACKUP_FORMAT, 8)
  head.writeUInt32BE(options.manifestLength ?? manifestBytes.byteLength, 12)
  const body = Buffer.concat([head, manifestBytes, ...parts.map((p) => p.bytes)])
  return Buffer.concat([body, createHash('sha256').update(body).digest()])
}

async function attempt (archive: Buffer, target = join(dir, 'restored')): Promise<NodeError> {
  const file = join(dir, 'hostile.hcbackup')
  await writeFile(file, archive)
  const err = await restoreBackup(file, target).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(NodeError)
  return err as NodeError
}

/** What is left in the scratch directory besides the hostile file (and `also`): nothing restored, nothing half-written. */
async function leftovers (...also: string[]): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== 'hostile.hcbackup' && !also.includes(name))
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')

describe('restore of a hostile backup file', () => {
  it('refuses part names that climb out, are absolute, or are not plain relative paths', async () => {
    for (const path of ['../escape', 'store/../../escape', '/tmp/escape', 'keys\\..\\escape', 'keys/./x', 'keys//x', 'keys/', '.', 'keys/a\u0000b']) {
      const err = await attempt(craft([{ path, bytes: bytes('x') }]))
      expect(err.code, path).toBe('BACKUP_INVALID')
      expect(await leftovers(), path).toEqual([])
    }
  })

  it('refuses parts outside keys/ and store/ (a backup holds nothing else: no config, no marker, no socket)', async () => {
    for (const path of ['restored.json', 'control.sock', 'index/query.sqlite', 'config.json', 'keys', 'store']) {
      const err = await attempt(craft([{ path, bytes: bytes('{}') }]))
      expect(err.code, path).toBe('BACKUP_INVALID')
      expect(await leftovers(), path).toEqual([])
    }
  })

  it('refuses duplicate parts and a part that is also another part\'s directory', async () => {
    const twice = await attempt(craft([{ path: 'keys/a', bytes: bytes('one') }, { path: 'keys/a', bytes: bytes('two') }]))
    expect(twice.code).toBe('BACKUP_INVALID')
    const fileThenDir = await attempt(craft([{ path: 'keys/a', bytes: bytes('one') }, { path: 'keys/a/b', bytes: bytes('two') }]))
    expect(fileThenDir.code).toBe('BACKUP_INVALID')
    const dirThenFile = await attempt(craft([{ path: 'keys/a/b', bytes: bytes('one') }, { path: 'keys/a', bytes: bytes('two') }]))
    expect(dirThenFile.code).toBe('BACKUP_INVALID')
    expect(await leftovers()).toEqual([])
  })

  it('refuses a manifest lying about sizes, huge declared sizes and a manifest length beyond the file, before reading them', async () => {
    const short = await attempt(craft([{ path: 'keys/a', bytes: bytes('abcdef'), size: 3 }]))
    expect(short.code).toBe('BACKUP_INVALID')
    const huge = await attempt(craft([{ path: 'keys/a', bytes: bytes('abc'), size: Number.MAX_SAFE_INTEGER }]))
    expect(huge.code).toBe('BACKUP_INVALID')
    const beyond = await attempt(craft([{ path: 'keys/a', bytes: bytes('abc') }], { manifestLength: 200 * 1024 * 1024 }))
    expect(beyond.code).toBe('BACKUP_INVALID')
    expect(beyond.message).toMatch(/truncated/)
    expect(await leftovers()).toEqual([])
  })

  it('refuses a part that does not match its hash, and a truncated file, leaving nothing', async () => {
    const wrong = await attempt(craft([{ path: 'keys/a', bytes: bytes('abc'), sha256: '0'.repeat(64) }]))
    expect(wrong.code).toBe('BACKUP_INVALID')
    const whole = craft([{ path: 'keys/a', bytes: bytes('abc') }, { path: 'store/b', bytes: bytes('def') }])
    const cut = await attempt(whole.subarray(0, whole.byteLength - 10))
    expect(cut.code).toBe('BACKUP_INVALID')
    expect(await leftovers()).toEqual([])
  })

  it('refuses a target that is a symbolic link, and writes nothing through it', async () => {
    const elsewhere = join(dir, 'elsewhere')
    await mkdir(elsewhere)
    await symlink(elsewhere, join(dir, 'link'))
    const err = await attempt(craft([{ path: 'keys/a', bytes: bytes('abc') }]), join(dir, 'link'))
    expect(err.code).toBe('RESTORE_TARGET')
    expect(await readdir(elsewhere)).toEqual([])
    expect(await leftovers('elsewhere', 'link')).toEqual([])
  })

  it('a well-formed archive whose store is not a store: the check after the restore is BACKUP_INVALID, not a raw RocksDB error', async () => {
    const file = join(dir, 'hostile.hcbackup')
    await writeFile(file, craft([{ path: 'store/CURRENT', bytes: bytes('MANIFEST-000099\n') }, { path: 'store/db/CURRENT', bytes: bytes('garbage\n') }]))
    const manifest = await restoreBackup(file, join(dir, 'restored'))
    const err = await verifyRestored(join(dir, 'restored'), manifest).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(NodeError)
    expect((err as NodeError).code).toBe('BACKUP_INVALID')
  })

  it('a valid archive of keys/ and store/ parts restores (the crafting is the real format)', async () => {
    const file = join(dir, 'hostile.hcbackup')
    await writeFile(file, craft([{ path: 'keys/a', bytes: bytes('abc') }, { path: 'store/x/y', bytes: bytes('') }]))
    await restoreBackup(file, join(dir, 'restored'))
    expect((await readdir(join(dir, 'restored'))).sort()).toEqual(['index', 'keys', 'restored.json', 'store'])
  })
})
