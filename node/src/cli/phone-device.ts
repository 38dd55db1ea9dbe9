/**
 * Opening a phone's device directory for one `healthchain phone` command:
 * the saved device (`readSavedDevice`, `openSaved`), dialling the nodes it
 * remembers (best effort; as on a phone, that alone sends what the outbox
 * holds), and the client's errors as the CLI's failures. Also the options
 * that name a device, its nodes and its registry.
 */
import { InvalidArgumentError } from 'commander'
import { multiaddr } from '@multiformats/multiaddr'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { PhoneClient, isClientError, readSavedDevice, type FlushResult, type SavedDevice } from '@healthchain/client'
import { CliError, usageError } from './errors.js'
import { readDevManifest } from './dev/layout.js'

/** A multiaddr a phone dials: it must name the node's peer id (the phone checks whom it reached). */
export function nodeAddressArg (value: string, previous: string[] = []): string[] {
  try {
    if (!multiaddr(value).getComponents().some((c) => c.name === 'p2p')) throw new Error('no /p2p')
  } catch {
    throw new InvalidArgumentError('expected a node\'s multiaddr with its peer id, such as /ip4/127.0.0.1/tcp/7010/p2p/12D3KooW…')
  }
  return [...previous, value]
}

export function registryKeyArg (value: string): string {
  if (!/^[0-9a-f]{64}$/i.test(value)) throw new InvalidArgumentError('expected the registry key: 64 hex characters (as `consortium create` or dev.json show it)')
  return value.toLowerCase()
}

export const DEVICE_OPTION = ['--device <dir>', 'the phone\'s device directory (made by `phone init`)'] as const

export interface OpenDevice {
  readonly client: PhoneClient
  readonly saved: SavedDevice
  /** What dialling the remembered nodes sent (empty when not dialled). */
  readonly dialled: FlushResult
}

const NOTHING_SENT: FlushResult = { sent: [], failed: [], pending: 0 }

/**
 * Opens the device in `dir` (with the phrase it keeps), dials its nodes if
 * asked, runs `fn`, and always closes it: the store's lock is released and
 * the light peer stopped before the command returns.
 */
export async function withDevice (dir: string, opts: { dial: boolean, syncTimeoutMs?: number }, fn: (device: OpenDevice) => Promise<void>): Promise<void> {
  const saved = await readDevice(dir)
  const client = await clientCall(async () => await PhoneClient.openSaved({
    dir,
    registryKey: saved.registryKey,
    bootstrapPeers: saved.nodes.map(peerOf),
    crypto,
    ...(opts.syncTimeoutMs === undefined ? {} : { syncTimeoutMs: opts.syncTimeoutMs })
  }))
  try {
    const dialled = opts.dial ? await clientCall(async () => await dialNodes(client, saved)) : NOTHING_SENT
    await clientCall(async () => { await fn({ client, saved, dialled }) })
  } finally {
    await client.close()
  }
}

/**
 * A node's libp2p resets new connections past 5 a second from one host
 * (its connection manager's `inboundConnectionThreshold`): phone commands
 * run back to back from one machine meet that limit, so a device that
 * reached none of its nodes tries once more after the window.
 */
const REDIAL_AFTER_MS = 1_100

/** Dials the remembered nodes (which also sends what is queued); once more after REDIAL_AFTER_MS if none answered. */
async function dialNodes (client: PhoneClient, saved: SavedDevice): Promise<FlushResult> {
  const first = await client.reconnect()
  if (saved.nodes.length === 0 || (await client.status()).connectedNodes.length > 0) return first
  await new Promise((resolve) => setTimeout(resolve, REDIAL_AFTER_MS))
  const second = await client.reconnect()
  return { ...second, sent: [...first.sent, ...second.sent], failed: [...first.failed, ...second.failed] }
}

export async function readDevice (dir: string): Promise<SavedDevice> {
  const saved = await clientCall(async () => await readSavedDevice(dir))
  if (saved === undefined) throw new CliError('NOT_A_DATA_DIR', `${dir} is not a phone device directory: set it up with \`healthchain phone init --device ${dir} --phrase-file …\``)
  return saved
}

/** The peer ids connected now; NOT_CONNECTED (the client's code) when none of the remembered nodes answered. */
export async function requireConnected (client: PhoneClient, saved: SavedDevice): Promise<string[]> {
  const connected = (await client.status()).connectedNodes
  if (connected.length === 0) {
    throw new CliError('NOT_CONNECTED', saved.nodes.length === 0
      ? 'this device knows no node: add one with `phone init --node <multiaddr>` (or --dev)'
      : `none of the ${saved.nodes.length} node${saved.nodes.length === 1 ? '' : 's'} this device knows could be dialled`)
  }
  return connected
}

/** The registry key and node addresses `phone init` was given, from dev.json or from the options. */
export async function initTarget (opts: { dev?: string, registryKey?: string, node?: string[] }): Promise<{ registryKey: string, nodes: string[] }> {
  if (opts.dev !== undefined) {
    if (opts.registryKey !== undefined || opts.node !== undefined) throw usageError('--dev gives the registry key and the nodes: leave out --registry-key and --node')
    const manifest = await readDevManifest(opts.dev)
    if (manifest === undefined) throw new CliError('NOT_A_DATA_DIR', `${opts.dev} has no dev.json: is \`healthchain dev --dir ${opts.dev}\` (npm start) running?`)
    const nodes = manifest.nodes.map((n) => n.p2p.includes('/p2p/') ? n.p2p : `${n.p2p}/p2p/${n.peerId}`)
    return { registryKey: manifest.registryKey, nodes }
  }
  if (opts.registryKey === undefined || opts.node === undefined || opts.node.length === 0) {
    throw usageError('say which consortium: --dev <dir> (a running dev network), or --registry-key <hex> with at least one --node <multiaddr>')
  }
  return { registryKey: opts.registryKey, nodes: opts.node }
}

export function peerOf (address: string): string {
  return address.slice(address.lastIndexOf('/p2p/') + 5)
}

/**
 * Runs a client call with its ClientError as the CLI's failure: the code
 * unchanged (scripts branch on it), the message prefixed with `context`
 * (an import's file name), the custodian's code added when there is one.
 */
export async function clientCall<T> (fn: () => T | Promise<T>, context?: string): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!isClientError(err)) throw err
    const remote = err.remoteCode === undefined || err.message.includes(err.remoteCode) ? '' : ` (${err.remoteCode})`
    const hint = err.code === 'NOT_ENROLLED' || err.code === 'NOT_SYNCED'
      ? ' — run `healthchain phone sync` with a node reachable first'
      : err.code === 'NO_QUORUM'
        ? ' — the phone keeps what it trusted before; the regulators must be reachable and have verified the chain ' +
          '(or set the device\'s quorum: `phone init --quorum`)'
        : ''
    throw new CliError(err.code, `${context === undefined ? '' : `${context}: `}${err.message}${remote}${hint}`, { cause: err })
  }
}
