/**
 * Restoring a backup into a fresh data directory, on purpose:
 *
 *   1. the target must be absent or empty (RESTORE_TARGET);
 *   2. the whole file is read and checked (header, manifest, each part's
 *      hash, the trailer) before anything is written: BACKUP_INVALID,
 *      BACKUP_VERSION;
 *   3. the parts are written into a temporary directory beside the target
 *      and checked again as they are written; only then is it renamed to
 *      the target, so a failure leaves nothing behind;
 *   4. `restored.json` records which backup the directory came from.
 *
 * Why this is not the copied-store refusal (STORE_MOVED) in disguise: that
 * refusal is Corestore's device file (store/CORESTORE), which records the
 * file's inode and an extended attribute and refuses a store whose file
 * moved. A backup never holds that file, so the restored store gets a new
 * one on first open; a plain `cp -a` of a data directory copies the old one
 * and is still refused.
 *
 * verifyRestored then opens the store and verifies every chain, checking it
 * is at least as long as the manifest says. Writes acknowledged after the
 * backup point are not in it: the restored node fetches them back from the
 * replicas that hold them once it rejoins the network.
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { Ledger, LedgerError } from '@healthchain/ledger'
import type { UserId } from '@healthchain/core'
import { dataDirLayout } from '../data-dir.js'
import { NodeError } from '../errors.js'
import { writeSecretFile } from '../secret-file.js'
import { readArchive, type BackupManifest } from './archive.js'

export const RESTORED_MARKER = 'restored.json'

/** Whether `dir` may receive a restore: absent, or an empty directory. */
async function assertFreshTarget (dir: string): Promise<void> {
  let entries: string[]
  try {
    // A symbolic link (even to an empty directory) is refused: the restore would land wherever it points, not where the operator named.
    if (!(await lstat(dir)).isDirectory()) throw new NodeError('RESTORE_TARGET', `${dir} is not a directory (a file or a symbolic link): restore into a new or empty directory`)
    entries = await readdir(dir)
  } catch (cause) {
    if (cause instanceof NodeError) throw cause
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new NodeError('RESTORE_TARGET', `${dir} cannot be used as a restore target (not a readable directory)`, { cause })
  }
  if (entries.length > 0) throw new NodeError('RESTORE_TARGET', `${dir} is not empty: restore only into a new or empty directory (it never overwrites a node)`)
}

/** Reads and checks the whole backup without writing anything; its manifest. */
export async function checkBackup (file: string): Promise<BackupManifest> {
  return await readArchive(file)
}

/** Restores `file` into `dataDir` (absent or empty); the manifest restored. `onPart` is told each part written. */
export async function restoreBackup (file: string, dataDir: string, onPart: (done: number, total: number) => void = () => {}): Promise<BackupManifest> {
  await assertFreshTarget(dataDir)
  const manifest = await checkBackup(file)
  const temp = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${randomBytes(6).toString('hex')}`)
  try {
    await mkdir(temp, { mode: 0o700 })
    let done = 0
    await readArchive(file, async (part, chunks) => {
      const target = join(temp, ...part.path.split('/'))
      await mkdir(dirname(target), { recursive: true, mode: 0o700 })
      await pipeline(Readable.from(chunks), createWriteStream(target, { flags: 'wx', mode: 0o600 }))
      onPart(++done, manifest.parts.length)
    })
    const layout = dataDirLayout(temp)
    for (const dir of [layout.keys, layout.store, layout.index]) await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeSecretFile(join(temp, RESTORED_MARKER), JSON.stringify({
      restoredAt: new Date().toISOString(),
      node: manifest.node,
      institution: manifest.institution,
      backupCreatedAt: manifest.createdAt,
      chains: manifest.chains.length
    }, null, 2) + '\n')
    await assertFreshTarget(dataDir)
    await rmdir(dataDir).catch(() => {})
    try {
      await rename(temp, dataDir)
    } catch (cause) {
      throw new NodeError('RESTORE_TARGET', `${dataDir} could not receive the restore (it changed while the backup was read)`, { cause })
    }
    return manifest
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
}

export interface RestoreCheck {
  readonly chains: number
  readonly valid: number
  readonly problems: ReadonlyArray<{ readonly user: string, readonly problem: string }>
}

/**
 * Opens the restored store and verifies every chain it holds; a chain of the
 * manifest that is missing or shorter than the manifest says is a problem.
 * `onChain` is told each chain verified.
 */
export async function verifyRestored (
  dataDir: string, manifest: BackupManifest, onChain: (done: number, total: number) => void = () => {}
): Promise<RestoreCheck> {
  let ledger: Ledger
  try {
    ledger = await Ledger.open({ dir: dataDirLayout(dataDir).store })
  } catch (cause) {
    // The ledger's own refusals (a locked store…) say what to do; anything else is the backup's content, which passed its hashes.
    if (cause instanceof LedgerError) throw cause
    throw new NodeError('BACKUP_INVALID', `the restored store in ${dataDir} cannot be opened: the backup does not hold a healthchain store (remove ${dataDir})`, { cause })
  }
  try {
    const problems: Array<{ user: string, problem: string }> = []
    const users = ledger.users()
    const expected = new Map(manifest.chains.map((c) => [c.user, c.length]))
    for (const user of expected.keys()) if (!ledger.hasChain(user as UserId)) problems.push({ user, problem: 'missing from the restored store' })
    let valid = 0
    for (const [i, user] of users.entries()) {
      const report = await ledger.verify(user)
      const least = expected.get(user) ?? 0
      if (!report.valid) problems.push({ user, problem: report.problems.map((p) => p.code).join(', ') || 'does not verify' })
      else if (report.length < least) problems.push({ user, problem: `length ${report.length}, the manifest says at least ${least}` })
      else valid++
      onChain(i + 1, users.length)
    }
    return { chains: users.length, valid, problems }
  } finally {
    await ledger.close()
  }
}
