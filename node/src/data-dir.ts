/**
 * The data directory: one per node, owner-only (0700) all the way down.
 *
 *   <dataDir>/
 *     keys/            key files and the API key store (files 0600)
 *       api-keys.json
 *     store/           the Corestore: registry, user chains, and the node's
 *                      own audit-log core (named 'audit-log')
 *     index/           the derived query index (rebuildable from the chains)
 *
 * The audit log lives in the Corestore rather than a directory of its own:
 * it is a Hypercore signed with a key derived from the store's primary key,
 * so it shares the store's durability and can be replicated like any core.
 */
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeError } from './errors.js'

export interface DataDirLayout {
  readonly root: string
  readonly keys: string
  readonly store: string
  readonly index: string
  readonly apiKeysFile: string
}

export function dataDirLayout (root: string): DataDirLayout {
  const keys = join(root, 'keys')
  return {
    root,
    keys,
    store: join(root, 'store'),
    index: join(root, 'index'),
    apiKeysFile: join(keys, 'api-keys.json')
  }
}

async function ensureOwnerOnlyDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // mkdir's mode is filtered by the umask and ignored for a directory that
    // exists already; make it 0700 whatever the umask or an older install did.
    if (process.platform !== 'win32') {
      const info = await stat(dir)
      if (!info.isDirectory()) throw new NodeError('DATA_FILE', `${dir} is not a directory`)
      if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700)
    }
  } catch (cause) {
    if (cause instanceof NodeError) throw cause
    throw new NodeError('DATA_FILE', `data directory ${dir} cannot be created`, { cause })
  }
}

/** Creates the data directory and its subdirectories (0700) if missing; returns the layout. */
export async function prepareDataDir (root: string): Promise<DataDirLayout> {
  const layout = dataDirLayout(root)
  for (const dir of [layout.root, layout.keys, layout.store, layout.index]) await ensureOwnerOnlyDir(dir)
  return layout
}
