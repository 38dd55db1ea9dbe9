/**
 * Owner-only files, as packages/ledger's key store writes them: 0600 in a
 * 0700 directory, written to a temporary file, synced, then renamed over
 * the old one (so a crash leaves the old file or the new one, never half of
 * either); reading refuses a file that group or others can read, as ssh
 * does. (The ledger's helpers are private to it; these are the same rules.)
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { NodeError } from './errors.js'

export async function writeSecretFile (path: string, contents: string): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(tmp, 'wx', 0o600)
    try {
      await handle.writeFile(contents)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await chmod(tmp, 0o600) // open's mode is filtered by the umask
    await rename(tmp, path)
  } catch (cause) {
    await rm(tmp, { force: true }).catch(() => {})
    throw new NodeError('DATA_FILE', `${path} cannot be written`, { cause })
  }
  // The rename is durable only once the directory entry is.
  const dirHandle = await open(dir, 'r').catch(() => undefined)
  if (dirHandle !== undefined) await dirHandle.sync().catch(() => {}).finally(() => dirHandle.close())
}

/** The file's text, or undefined when it does not exist. DATA_FILE when group or others can read it. */
export async function readSecretFile (path: string): Promise<string | undefined> {
  let info
  try {
    info = await stat(path)
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new NodeError('DATA_FILE', `${path} cannot be read`, { cause })
  }
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new NodeError('DATA_FILE', `${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${path} cannot be read`, { cause })
  }
}
