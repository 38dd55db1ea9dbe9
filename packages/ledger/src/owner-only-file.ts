/**
 * The one way this codebase writes a file that holds a secret or state only
 * its owner may read (key files, a node's API keys, a phone's device state):
 * 0600 in a 0700 directory, written to a temporary file of its own, synced,
 * renamed over the old one, and the directory synced, so a crash leaves the
 * old file or the new one, never half of either, and the rename survives a
 * power cut. Callers wrap failures in their own error class.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

export async function writeOwnerOnlyFile (path: string, contents: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await replaceDurably(path, `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`, contents, 'wx')
}

/**
 * Replaces `path` with `contents` so that a crash leaves the old file or the
 * new one: written to `tmp` (opened with `flags`, owner-only), synced,
 * renamed over `path`, the directory synced; `tmp` removed if any step fails.
 */
export async function replaceDurably (path: string, tmp: string, contents: string | Uint8Array, flags: 'w' | 'wx'): Promise<void> {
  try {
    const handle = await open(tmp, flags, 0o600)
    try {
      await handle.writeFile(contents)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await chmod(tmp, 0o600) // open's mode is filtered by the umask
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
  // The rename is durable only once the directory entry is.
  const dirHandle = await open(dirname(path), 'r').catch(() => undefined)
  if (dirHandle !== undefined) await dirHandle.sync().catch(() => {}).finally(() => dirHandle.close())
}

/** Whether a file's mode lets group or others read it (always false on Windows, which has no such bits). */
export function readableByOthers (mode: number): boolean {
  return process.platform !== 'win32' && (mode & 0o077) !== 0
}
