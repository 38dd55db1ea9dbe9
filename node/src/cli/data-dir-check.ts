/**
 * "This is not a node data directory", with advice that fits what the
 * directory is. The usual wrong directory is one level too high: the
 * directory of a dev network (`healthchain dev`) or of a hand set-up holds
 * node data directories (hospital-a/, agency/, …), and telling someone to
 * run `keys create` there would make a new node instead of naming theirs.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { dataDirLayout } from '../data-dir.js'
import { CliError } from './errors.js'

/** Whether `dir` has what a node data directory always has (its keys, or its store). */
export function isDataDir (dir: string): boolean {
  const layout = dataDirLayout(dir)
  return existsSync(layout.keys) || existsSync(layout.store)
}

/** The node data directories directly inside `dir`, by name (none if `dir` cannot be listed). */
export function dataDirsIn (dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isDataDir(join(dir, entry.name)))
      .map((entry) => entry.name)
      .sort()
  } catch {
    return []
  }
}

/**
 * NOT_A_DATA_DIR for `dir`, which lacks `missing` (e.g. 'keys/'). `option`
 * is how the command names the directory (`--dir`), `otherwise` what to do
 * when it is no network directory either (e.g. create it with `keys create`).
 */
export function notADataDir (dir: string, missing: string, opts: { option: string, otherwise?: string }): CliError {
  const nodes = dataDirsIn(dir)
  const network = ['dev.json', 'network.json'].some((name) => existsSync(join(dir, name)))
  if (nodes.length > 0) {
    return new CliError('NOT_A_DATA_DIR', `${dir} is not a node data directory: it holds the data directories of ${nodes.join(', ')}; pass one of them, e.g. ${opts.option} ${join(dir, nodes[0]!)}`)
  }
  if (network) {
    return new CliError('NOT_A_DATA_DIR', `${dir} is a network directory (it has dev.json or network.json), not a node data directory, and holds none yet: pass the data directory of one of its nodes with ${opts.option}`)
  }
  return new CliError('NOT_A_DATA_DIR', `${dir} is not a node data directory (no ${missing})${opts.otherwise === undefined ? '' : `: ${opts.otherwise}`}`)
}
