/**
 * The dev network's one-time set-up, or its state from the last run.
 *
 * First run (no network.json): each node's data directory and keys, the
 * consortium's registry in hospital-a's store (governance key in
 * <dir>/governance.json), all four admitted with their fixed loopback
 * addresses, a config.json per node, one API key per node, and last
 * network.json, which marks the set-up complete. A set-up cut short
 * (no network.json) is cleared and done again: it holds nothing yet.
 *
 * Nothing outside the entries a dev directory holds (layout.ts,
 * devEntries) is ever deleted, and a directory holding anything else is
 * refused: `--fresh --dir ~` must not be a disaster.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex, type InstitutionId } from '@healthchain/core'
import { ApiKeyStore } from '../../auth/api-keys.js'
import { dataDirLayout } from '../../data-dir.js'
import { writeSecretFile } from '../../secret-file.js'
import { prepareConsortium } from '../../testing/index.js'
import { CliError, usageError } from '../errors.js'
import {
  DEV_CONSORTIUM_NAME, DEV_HOST, DEV_NODES, devEntries, devPorts, p2pAddress, readDevState, writeDevState, wsAddress,
  type DevPaths, type DevState
} from './layout.js'

export const DEV_API_KEY_LABEL = 'healthchain dev'

export interface OpenedDevNetwork {
  readonly state: DevState
  /** False on the run that created it. */
  readonly reopened: boolean
}

/** Refuses a directory that holds anything a dev network would not. */
async function assertDevDir (paths: DevPaths): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(paths.root)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const known = new Set(devEntries())
  const foreign = names.filter((n) => !known.has(n) && !n.endsWith('.tmp'))
  if (foreign.length > 0) {
    throw new CliError('NOT_A_DATA_DIR', `${paths.root} holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}: not a healthchain dev directory; choose another --dir`)
  }
  return names
}

async function clear (paths: DevPaths, names: readonly string[]): Promise<void> {
  for (const name of names) await rm(join(paths.root, name), { recursive: true, force: true })
}

export async function openOrCreateDevNetwork (
  paths: DevPaths,
  opts: { basePort: number | undefined, defaultBasePort: number, fresh: boolean, beforeCreate?: (basePort: number) => Promise<void> },
  progress: (line: string) => void
): Promise<OpenedDevNetwork> {
  const names = await assertDevDir(paths)
  if (opts.fresh && names.length > 0) {
    progress(`--fresh: deleting the dev network in ${paths.root}`)
    await clear(paths, names)
  }
  const state = opts.fresh ? undefined : await readDevState(paths)
  if (state !== undefined) {
    if (opts.basePort !== undefined && opts.basePort !== state.basePort) {
      // The registry lists each node's libp2p address, so the ports are part of the network's data.
      throw usageError(`the dev network in ${paths.root} was created with --base-port ${state.basePort}, and its registry lists those addresses: omit --base-port, or use another --dir (or --fresh to start over)`)
    }
    return { state, reopened: true }
  }
  if (!opts.fresh && names.length > 0) {
    progress(`${paths.root}: a set-up that did not finish; starting it again`)
    await clear(paths, names)
  }
  const basePort = opts.basePort ?? opts.defaultBasePort
  // Checked before anything is made: the ports become part of the network's data (its registry lists them).
  await opts.beforeCreate?.(basePort)
  return { state: await createDevNetwork(paths, basePort, progress), reopened: false }
}

async function createDevNetwork (paths: DevPaths, basePort: number, progress: (line: string) => void): Promise<DevState> {
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  await chmod(paths.root, 0o700)
  const host = DEV_NODES[0]!
  progress(`creating the consortium's registry in ${host.name} (governance key: ${paths.governance})`)
  progress(`admitting ${DEV_NODES.map((n) => `${n.name} (${n.role})`).join(', ')}`)
  // The same consortium harness as the tests', laid out in node data directories.
  const { registryKey, peers } = await prepareConsortium({
    parties: DEV_NODES.map((n, i) => ({ id: n.name, name: n.title, role: n.role, addrs: [p2pAddress(devPorts(basePort, i))] })),
    dataDirOf: (id) => paths.nodeDir(id),
    governanceKeyPath: paths.governance,
    name: DEV_CONSORTIUM_NAME
  })
  const hostAddress = `${p2pAddress(devPorts(basePort, 0))}/p2p/${peers.get(host.name)!}`
  const nodes: Array<DevState['nodes'][number]> = []
  for (const [i, node] of DEV_NODES.entries()) {
    const ports = devPorts(basePort, i)
    const config = {
      name: node.name,
      role: node.role,
      dataDir: '.',
      api: { host: DEV_HOST, port: ports.api },
      p2p: { listen: [p2pAddress(ports), wsAddress(ports)], bootstrap: i === 0 ? [] : [hostAddress] },
      registryKey: bytesToHex(registryKey)
    }
    await writeSecretFile(paths.configFile(node.name), JSON.stringify(config, null, 2) + '\n')
    const store = await ApiKeyStore.open(dataDirLayout(paths.nodeDir(node.name)).apiKeysFile)
    const { apiKey } = await store.create(DEV_API_KEY_LABEL, node.role)
    nodes.push({ name: node.name as InstitutionId, role: node.role, apiKey })
  }
  const state: DevState = {
    v: 1, kind: 'healthchain-dev-network', basePort, registryKey: bytesToHex(registryKey), createdAt: new Date().toISOString(), nodes
  }
  await writeDevState(paths, state)
  progress(`dev network created in ${paths.root}`)
  return state
}
