/**
 * Owner-only files of a node (its API keys): written as the ledger writes
 * key files (writeOwnerOnlyFile: 0600 in a 0700 directory, through a synced
 * temporary file and a rename); reading refuses a file that group or others
 * can read, as ssh does.
 */
import { readFile, stat } from 'node:fs/promises'
import { readableByOthers, writeOwnerOnlyFile } from '@healthchain/ledger'
import { NodeError } from './errors.js'

export async function writeSecretFile (path: string, contents: string): Promise<void> {
  try {
    await writeOwnerOnlyFile(path, contents)
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${path} cannot be written`, { cause })
  }
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
  if (readableByOthers(info.mode)) {
    throw new NodeError('DATA_FILE', `${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
  }
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new NodeError('DATA_FILE', `${path} cannot be read`, { cause })
  }
}
