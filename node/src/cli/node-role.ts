/**
 * The role a node runs as, learned offline from its data directory, for
 * `apikey create --dir`: a key for another role would be refused at every
 * login (KEY_ROLE_MISMATCH), so it is refused at creation instead.
 *
 * The daemon checks a key's role against its config's `role`, so the
 * config is asked first; the registry is what the config's role must agree
 * with for the node's writes to be accepted, so it is the fallback:
 *
 *   1. <dir>/config.json whose dataDir is <dir> (the layout of
 *      `healthchain dev` and of node/README.md's set-up by hand)
 *   2. the registry copy in the node's store: the institution whose signing
 *      key is the node's own (keys/institution.json)
 *
 * Either may be missing: a config may live anywhere, a running node holds
 * its store's lock, and a node that never started holds no registry copy.
 * Then the role is unknown and `why` says so, for the caller to pass on.
 */
import { existsSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { equal, type InstitutionRole } from '@healthchain/core'
import { Ledger, LedgerError } from '@healthchain/ledger'
import { loadConfig, type Env } from '../config.js'
import { dataDirLayout } from '../data-dir.js'
import { institutionKeysFile, readInstitutionGenerations } from '../node-keys.js'

export type NodeRole =
  /** `source`: where the role was read, for messages (a config file's path, or the registry). */
  | { readonly role: InstitutionRole, readonly source: string }
  | { readonly role: undefined, readonly why: string }

export const CONFIG_FILE_NAME = 'config.json'

export async function nodeRoleOf (dir: string, env: Env): Promise<NodeRole> {
  const fromConfig = await roleFromConfig(dir, env)
  if (fromConfig !== undefined) return fromConfig
  const fromRegistry = await roleFromRegistry(dir)
  if (fromRegistry.role !== undefined) return fromRegistry
  return { role: undefined, why: `${dir}: ${fromRegistry.why}, and it has no ${CONFIG_FILE_NAME} whose dataDir is this directory` }
}

function samePath (a: string, b: string): boolean {
  const real = (p: string): string => existsSync(p) ? realpathSync(p) : resolve(p)
  return real(a) === real(b)
}

async function roleFromConfig (dir: string, env: Env): Promise<NodeRole | undefined> {
  const path = join(dir, CONFIG_FILE_NAME)
  if (!existsSync(path)) return undefined
  try {
    const config = await loadConfig(path, env)
    // A config beside the data whose dataDir points elsewhere runs another node (a copied example's "./data").
    return samePath(config.dataDir, dir) ? { role: config.role, source: path } : undefined
  } catch {
    return undefined // not a valid config: `start` would say why; the registry may still know
  }
}

async function roleFromRegistry (dir: string): Promise<NodeRole> {
  const layout = dataDirLayout(dir)
  const keysFile = institutionKeysFile(layout.keys)
  if (!existsSync(keysFile)) return { role: undefined, why: 'it has no institution keys yet' }
  if (!existsSync(layout.store)) return { role: undefined, why: 'it holds no registry copy (the node never started)' }
  const generations = await readInstitutionGenerations(layout.keys)
  let ledger: Ledger
  try {
    ledger = await Ledger.open({ dir: layout.store, verifyWorkers: 0 })
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'STORE_LOCKED') return { role: undefined, why: 'the node is running, so its registry cannot be read' }
    throw err
  }
  try {
    if (!ledger.hasRegistry) return { role: undefined, why: 'it holds no registry copy (the node never started)' }
    // Any generation of its keys: a node whose keys rotated is still the institution the registry first admitted them for.
    const held = (sign: Uint8Array): boolean => generations.some((g) => equal(g.sign.publicKey, sign))
    const own = ledger.registry.state.institutions().find((i) => ledger.registry.state.historyOf(i.id).some((r) => held(r.sign)))
    if (own === undefined) return { role: undefined, why: 'its registry does not list this node\'s keys (not admitted yet?)' }
    return { role: own.role, source: `the registry in ${dir} (which admits it as ${own.id})` }
  } finally {
    await ledger.close()
  }
}
