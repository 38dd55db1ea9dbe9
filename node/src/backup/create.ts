/**
 * Making a backup of a node, running or stopped, as one consistent point in
 * time:
 *
 *   1. the chains held and their lengths on disk are noted (the manifest's
 *      lower bounds);
 *   2. with the store quiesced (Ledger.quiesced: reads and writes wait,
 *      RocksDB's log is flushed and its background work paused), the store's
 *      files and the key files are staged in a directory beside the store:
 *      RocksDB's table files (.sst, .blob) never change once written, so
 *      they are hard-linked (as a RocksDB checkpoint does) and the store
 *      waits only for the copy of its logs and manifests; everything else is
 *      copied;
 *   3. the store resumes; the staged copy is written to the backup file at
 *      leisure, then removed.
 *
 * Not staged: Corestore's device file (store/CORESTORE, which ties a store
 * to its disk: a restore writes a new one), RocksDB's info logs and lock
 * file, and the query index (rebuilt from the chains when the node starts).
 */
import { randomBytes } from 'node:crypto'
import { copyFile, link, mkdir, readdir, realpath, rm } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { Ledger } from '@healthchain/ledger'
import type { DataDirLayout } from '../data-dir.js'
import { NodeError } from '../errors.js'
import { writeArchive, type BackupManifest, type PartSource } from './archive.js'

export interface BackupSource {
  readonly ledger: Ledger
  readonly layout: DataDirLayout
  readonly node: string
  readonly role: string
  readonly institution: string
}

export interface BackupProgress {
  readonly stage: 'snapshot' | 'write'
  readonly done: number
  readonly total: number
}

/** Files of the store that are not part of a backup: the device file, RocksDB's lock and info logs. */
function skipped (rel: string): boolean {
  const name = rel.split(sep).pop()!
  return rel === 'CORESTORE' || name === 'LOCK' || name === 'LOG' || name.startsWith('LOG.old')
}

/** RocksDB files written once and never changed: safe to hard-link while the store runs on. */
function immutable (name: string): boolean {
  return name.endsWith('.sst') || name.endsWith('.blob')
}

async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)))
  }
  return out.sort()
}

/** Stages `rel` (relative to `from`) under `to`: a hard link for immutable files when the file system allows, else a copy. */
async function stage (from: string, to: string, rel: string): Promise<void> {
  const target = join(to, rel)
  await mkdir(dirname(target), { recursive: true, mode: 0o700 })
  if (immutable(rel)) {
    try {
      await link(join(from, rel), target)
      return
    } catch {}
  }
  await copyFile(join(from, rel), target)
}

/**
 * Refuses `out` inside the data directory (links resolved): a backup there
 * would be read by the node's own tree walks and held by the next backup.
 */
async function assertOutside (root: string, out: string): Promise<void> {
  const real = async (path: string): Promise<string> => await realpath(path).catch(() => resolve(path))
  const [dir, home] = await Promise.all([real(dirname(resolve(out))), real(root)])
  if (dir === home || dir.startsWith(home + sep)) {
    throw new NodeError('DATA_FILE', `${out} is inside the node's data directory ${root}: write the backup elsewhere (another disk, ideally)`)
  }
}

/**
 * Writes a backup of the node to `out` (which must not exist): its keys, its
 * store (registry, chains, audit log) and a manifest. A write that arrives
 * while the store is quiesced waits and is acknowledged after the backup
 * point, so no write acknowledged before it is missing from the backup.
 */
export async function createBackup (source: BackupSource, out: string, onProgress: (p: BackupProgress) => void = () => {}): Promise<BackupManifest> {
  const { ledger, layout } = source
  await assertOutside(layout.root, out)
  const users = ledger.users()
  const lengths = await ledger.storedLengths(users)
  const chains = users.map((user) => ({ user, length: lengths.get(user)?.length ?? 0 })).sort((a, b) => a.user.localeCompare(b.user))
  const createdAt = new Date().toISOString()
  const staging = join(layout.root, `backup-staging-${randomBytes(6).toString('hex')}`)
  const partial = `${out}.partial-${randomBytes(6).toString('hex')}`
  try {
    await mkdir(staging, { mode: 0o700 })
    const sources: PartSource[] = []
    await ledger.quiesced(async () => {
      const storeFiles = (await filesUnder(layout.store)).filter((rel) => !skipped(rel))
      const keyFiles = await filesUnder(layout.keys)
      const all = [...keyFiles.map((rel) => ['keys', rel] as const), ...storeFiles.map((rel) => ['store', rel] as const)]
      for (const [i, [dir, rel]] of all.entries()) {
        await stage(join(layout.root, dir), join(staging, dir), rel)
        const path = `${dir}/${rel.split(sep).join('/')}`
        sources.push({ path, file: join(staging, dir, rel) })
        onProgress({ stage: 'snapshot', done: i + 1, total: all.length })
      }
    })
    const manifest = await writeArchive(partial, {
      node: source.node, role: source.role, institution: source.institution, createdAt, chains
    }, sources, (done, total) => { onProgress({ stage: 'write', done, total }) })
    try {
      // A link, not a rename: it refuses to replace a file that appeared at `out` meanwhile.
      await link(partial, out)
    } catch (cause) {
      throw new NodeError('DATA_FILE', `${out} cannot be written (it must not exist yet)`, { cause })
    }
    return manifest
  } finally {
    await rm(staging, { recursive: true, force: true })
    await rm(partial, { force: true })
  }
}
