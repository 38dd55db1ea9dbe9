/**
 * Runs the dev network's four daemons in this process:
 *
 *   ports free? ─► hospital-a (hosts the registry) ─► hospital-b, agency,
 *   regulator (bootstrap from hospital-a) ─► every node has the registry
 *   and is connected, with a replication channel, to the three others
 *   ─► ready
 *
 * `stop()` stops them in reverse order, each the daemon's own clean stop.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ApiKeyStore } from '../../auth/api-keys.js'
import { loadConfig } from '../../config.js'
import { Daemon } from '../../daemon.js'
import { dataDirLayout } from '../../data-dir.js'
import { isNodeError } from '../../errors.js'
import { CliError } from '../errors.js'
import { assertPortsFree, portInUse, startDaemonOrPortError, type PortUse } from '../ports.js'
import { DEV_API_KEY_LABEL } from './setup.js'
import { DEV_HOST, DEV_NODES, devPorts, writeDevState, type DevPaths, type DevState } from './layout.js'

export const READY_TIMEOUT_MS = 60_000
const POLL_MS = 50
const PROGRESS_EVERY_MS = 5_000

export interface RunningDevNode {
  readonly name: string
  readonly role: string
  readonly daemon: Daemon
  readonly apiKey: string
}

export interface RunningDevNetwork {
  readonly nodes: readonly RunningDevNode[]
  stop (): Promise<void>
}

export interface StartDevOptions {
  /** Progress lines (stderr). */
  readonly progress: (line: string) => void
  /** True once a stop was asked for: start-up gives up waiting and stops what it started. */
  readonly stopRequested: () => boolean
}

/** Thrown when a stop request arrives during start-up (not an error: the caller just exits). */
export class StartCancelled extends Error {
  override readonly name = 'StartCancelled'
}

function portUses (basePort: number): PortUse[] {
  return DEV_NODES.flatMap((n, i) => {
    const p = devPorts(basePort, i)
    return [{ port: p.api, what: `${n.name}'s API` }, { port: p.p2p, what: `${n.name}'s libp2p TCP` }, { port: p.ws, what: `${n.name}'s libp2p WebSockets` }]
  })
}

function portHint (paths: DevPaths, basePort: number): string {
  return `another program (or another dev network) uses it. This network's ports are fixed (${basePort}-${basePort + 23}, listed in its registry): stop that program, or run a separate network with --dir <other dir> --base-port <port>` +
    ` (or start this one over with --fresh --base-port <port>; that deletes ${paths.root})`
}

/** PORT_IN_USE, naming the port and what it is for, unless every port of the network's range is free on 127.0.0.1. */
export async function assertDevPortsFree (paths: DevPaths, basePort: number): Promise<void> {
  await assertPortsFree(portUses(basePort), DEV_HOST, portHint(paths, basePort))
}

export async function startDevNetwork (paths: DevPaths, state: DevState, opts: StartDevOptions): Promise<RunningDevNetwork> {
  const hint = portHint(paths, state.basePort)
  await assertDevPortsFree(paths, state.basePort)
  const nodes: RunningDevNode[] = []
  const network: RunningDevNetwork = {
    nodes,
    async stop () {
      for (const node of [...nodes].reverse()) {
        opts.progress(`stopping ${node.name}`)
        await node.daemon.stop().catch((err: unknown) => { opts.progress(`${node.name} did not stop cleanly: ${(err as Error).message}`) })
      }
    }
  }
  try {
    for (const [i, spec] of DEV_NODES.entries()) {
      if (opts.stopRequested()) throw new StartCancelled()
      const config = await loadConfig(paths.configFile(spec.name), {}) // not process.env: HEALTHCHAIN_API_PORT would give all four the same port
      const daemon = await startDaemonOrPortError(config, (port, cause) =>
        portInUse(portUses(state.basePort).find((u) => u.port === port) ?? { port, what: `${spec.name}` }, hint, cause))
      const apiKey = await usableApiKey(paths, state, spec.name, daemon)
      nodes.push({ name: spec.name, role: spec.role, daemon, apiKey })
      opts.progress(`started ${spec.name.padEnd(10)} ${spec.role.padEnd(9)} api ${daemon.apiUrl}  p2p ${devPorts(state.basePort, i).p2p}  peer ${daemon.network.peerId}`)
    }
    await waitUntilReady(nodes, opts)
  } catch (err) {
    await network.stop()
    throw err
  }
  return network
}

/** Where a node's web console is: `/` on its API's origin. */
export function consoleUrlOf (daemon: Daemon): string {
  return `${daemon.apiUrl}/`
}

/** What to tell a developer about the consoles: where to open them, or how to build them first. */
export function consoleHint (nodes: readonly RunningDevNode[]): string {
  const first = nodes[0]
  if (first === undefined) return ''
  const built = existsSync(join(first.daemon.config.console.dir, 'index.html'))
  return built
    ? `Open a node's web console in a browser: ${consoleUrlOf(first.daemon)} (each node's is in the console column).`
    : `The web consoles are not built yet: run npm run build:console, then open ${consoleUrlOf(first.daemon)} (each node's is in the console column).`
}

/**
 * The node's dev API key from network.json, or a new one if it no longer
 * works (someone revoked it with `healthchain apikey revoke`): dev.json
 * must always hold keys that log in.
 */
async function usableApiKey (paths: DevPaths, state: DevState, name: string, daemon: Daemon): Promise<string> {
  const entry = state.nodes.find((n) => n.name === name)
  if (entry !== undefined) {
    try {
      await daemon.apiKeys.verify(entry.apiKey)
      return entry.apiKey
    } catch (err) {
      if (!isNodeError(err)) throw err
    }
  }
  const store = await ApiKeyStore.open(dataDirLayout(paths.nodeDir(name)).apiKeysFile)
  const { apiKey } = await store.create(DEV_API_KEY_LABEL, daemon.config.role)
  const nodes = [...state.nodes.filter((n) => n.name !== name), { name, role: daemon.config.role, apiKey }]
  Object.assign(state, { nodes })
  await writeDevState(paths, state)
  return apiKey
}

/** What a node still lacks to be ready, or undefined when it is. */
function missingOf (node: RunningDevNode, all: readonly RunningDevNode[], registryLength: number): string | undefined {
  const ledger = node.daemon.ledger
  if (!ledger.hasRegistry || ledger.registry.length < registryLength) return `the registry (${ledger.hasRegistry ? ledger.registry.length : 0}/${registryLength} entries)`
  const status = node.daemon.network.status()
  const others = all.filter((n) => n !== node)
  const unconnected = others.filter((o) => !status.peers.includes(o.daemon.network.peerId))
  if (unconnected.length > 0) return `connections to ${unconnected.map((o) => o.name).join(', ')}`
  const channels = node.daemon.network.replication.peers
  const unreplicated = others.filter((o) => !channels.includes(o.daemon.network.peerId))
  if (unreplicated.length > 0) return `replication channels to ${unreplicated.map((o) => o.name).join(', ')}`
  return undefined
}

async function waitUntilReady (nodes: readonly RunningDevNode[], opts: StartDevOptions): Promise<void> {
  const registryLength = nodes[0]!.daemon.ledger.registry.length
  opts.progress(`waiting for every node to have the registry (${registryLength} entries) and to connect to the others…`)
  const started = Date.now()
  let lastProgress = started
  for (;;) {
    if (opts.stopRequested()) throw new StartCancelled()
    const missing = nodes.map((n) => [n.name, missingOf(n, nodes, registryLength)] as const).filter(([, m]) => m !== undefined)
    if (missing.length === 0) return
    const now = Date.now()
    const report = missing.map(([name, m]) => `${name} lacks ${m!}`).join('; ')
    if (now - started > READY_TIMEOUT_MS) throw new CliError('TIMEOUT', `the dev network was not ready after ${READY_TIMEOUT_MS / 1000} s: ${report}`)
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      opts.progress(`still waiting: ${report}`)
      lastProgress = now
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}
