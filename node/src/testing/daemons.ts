/**
 * The node level of the consortium harness, second half: real daemons for a
 * consortium prepared in data directories under one temporary directory
 * (consortium.ts, which builds on the ledger level), each with its HTTP API
 * on 127.0.0.1 (a free port) and libp2p on 127.0.0.1, the later ones
 * bootstrapping from the first, and a staff API key for its role. The
 * teardown is registered with `onCleanup` when given; else call `close()`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildGenesis, bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type InstitutionRole, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { registerCleanup, type OnCleanup } from '@healthchain/ledger/testing'
import { Daemon, parseConfig, signLogin, type DaemonOptions, type NodeConfig } from '../index.js'
import { prepareConsortium } from './consortium.js'

export interface TestNode {
  readonly id: InstitutionId
  readonly role: InstitutionRole
  readonly daemon: Daemon
  readonly url: string
  readonly apiKey: string
}

export interface Reply { status: number, body: any }

export interface TestConsortium {
  readonly dir: string
  readonly nodes: Map<string, TestNode>
  node (id: string): TestNode
  /**
   * Starts (again) a node that was stopped, from the same data directory;
   * `samePort`: on the API port it had (a browser tab open on its origin reconnects).
   */
  restart (id: string, opts?: { samePort?: boolean, daemon?: DaemonOptions }): Promise<TestNode>
  stop (id: string): Promise<void>
  close (): Promise<void>
}

export async function call (url: string, method: string, path: string, opts: { token?: string, body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(url + path, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) })
  const text = await response.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: response.status, body }
}

/** A staff token for the node's API key. */
export async function staffToken (node: TestNode): Promise<string> {
  const reply = await call(node.url, 'POST', '/v1/session', { body: { apiKey: node.apiKey } })
  if (reply.status !== 200) throw new Error(`staff login at ${node.id} failed: ${JSON.stringify(reply.body)}`)
  return reply.body.token as string
}

/** A user's token at `node`, by signing its challenge. */
export async function userToken (node: TestNode, user: UserKeys): Promise<string> {
  const { body: { challenge } } = await call(node.url, 'POST', '/v1/session/challenge', { body: { userId: user.userId } })
  const signature = signLogin(node.id, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto)
  const reply = await call(node.url, 'POST', '/v1/session', { body: { userId: user.userId, challenge, signature: bytesToHex(signature) } })
  if (reply.status !== 200) throw new Error(`user login at ${node.id} failed: ${JSON.stringify(reply.body)}`)
  return reply.body.token as string
}

/** Enrols a new user at `node` over HTTP, as an examiner's staff does with the user's phone: chain key, user-signed genesis, POST. */
export async function enrolOverHttp (node: TestNode, token: string): Promise<{ user: UserKeys, chainKey: string }> {
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const { body: { chainKey } } = await call(node.url, 'GET', `/v1/users/${user.userId}/chain-key`, { token })
  const genesis = signEntry(buildGenesis(user, node.id, {}, crypto), { chainKey: fromHex(chainKey, 32, 'chainKey'), seq: 0 }, user.sign.secretKey, crypto)
  const reply = await call(node.url, 'POST', '/v1/users', { token, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  if (reply.status !== 201) throw new Error(`enrolment failed: ${JSON.stringify(reply.body)}`)
  return { user, chainKey }
}

export interface ConsortiumOptions {
  /** Config sections laid over every node's test config, field by field (e.g. other limits). */
  readonly config?: {
    readonly api?: object,
    readonly auth?: object,
    readonly audit?: object,
    readonly p2p?: object,
    readonly console?: object,
    readonly metrics?: object,
    readonly storage?: object
  }
  /** Each node's daemon options (e.g. where its JSON log goes). */
  readonly daemon?: (id: string) => DaemonOptions
  /** Where the consortium registers its teardown (a test's cleanup list or hook). */
  readonly onCleanup?: OnCleanup
  /** Each node's query index config (default: SQLite in its data directory); a node without one keeps the default. */
  readonly indexOf?: (id: string) => object | undefined
}

export async function startConsortium (specs: ReadonlyArray<readonly [string, InstitutionRole]>, opts: ConsortiumOptions = {}): Promise<TestConsortium> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-daemons-'))
  const host = specs[0]![0]
  const dataDir = (id: string): string => join(dir, id)
  let registryKey: Uint8Array
  try {
    ({ registryKey } = await prepareConsortium({
      parties: specs.map(([id, role]) => ({ id, role })), dataDirOf: dataDir, governanceKeyPath: join(dir, 'governance.json'), name: 'Test consortium'
    }))
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }

  const nodes = new Map<string, TestNode>()
  const apiKeys = new Map<string, string>()
  const lastPort = new Map<string, number>()
  const configOf = (id: string, role: InstitutionRole, port = 0): NodeConfig => {
    const first = id === host ? undefined : nodes.get(host)
    const bootstrap = first === undefined ? [] : [first.daemon.network.addresses[0]!]
    const extra = opts.config ?? {}
    return parseConfig({
      name: id,
      role,
      dataDir: dataDir(id),
      api: { host: '127.0.0.1', port, ...extra.api },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, ...extra.p2p },
      registryKey: bytesToHex(registryKey),
      ...(extra.auth === undefined ? {} : { auth: extra.auth }),
      ...(extra.audit === undefined ? {} : { audit: extra.audit }),
      ...(extra.console === undefined ? {} : { console: extra.console }),
      ...(extra.metrics === undefined ? {} : { metrics: extra.metrics }),
      ...(extra.storage === undefined ? {} : { storage: extra.storage }),
      ...(opts.indexOf?.(id) === undefined ? {} : { index: opts.indexOf(id) })
    }, { baseDir: dir })
  }
  const start = async (id: string, role: InstitutionRole, port?: number, daemonOpts?: DaemonOptions): Promise<TestNode> => {
    const daemon = await Daemon.start(configOf(id, role, port), daemonOpts ?? opts.daemon?.(id))
    lastPort.set(id, Number(new URL(daemon.apiUrl).port))
    let apiKey = apiKeys.get(id)
    if (apiKey === undefined) {
      apiKey = (await daemon.apiKeys.create(`${id} staff`, role)).apiKey
      apiKeys.set(id, apiKey)
    }
    const node = { id: id as InstitutionId, role, daemon, url: daemon.apiUrl, apiKey }
    nodes.set(id, node)
    return node
  }
  const consortium: TestConsortium = {
    dir,
    nodes,
    node (id) { return nodes.get(id)! },
    async restart (id, restartOpts = {}) {
      const role = specs.find(([s]) => s === id)![1]
      return await start(id, role, restartOpts.samePort === true ? lastPort.get(id) : undefined, restartOpts.daemon)
    },
    async stop (id) {
      await nodes.get(id)?.daemon.stop()
      nodes.delete(id)
    },
    async close () {
      for (const id of [...nodes.keys()].reverse()) await consortium.stop(id)
      await rm(dir, { recursive: true, force: true })
    }
  }
  try {
    for (const [id, role] of specs) await start(id, role)
    await waitUntil(() => [...nodes.values()].every((n) => n.daemon.ledger.registry.length === specs.length + 1), 'every node to have the registry')
    // The registry lists no addresses here (ports are picked at start), so the nodes are introduced by hand.
    for (const a of nodes.values()) for (const b of nodes.values()) if (a.id < b.id) await a.daemon.network.dial(b.daemon.network.addresses[0]!)
    const linked = (n: TestNode): boolean => n.daemon.network.replication.peers.length === specs.length - 1
    await waitUntil(() => [...nodes.values()].every(linked), 'replication channels between all nodes')
  } catch (err) {
    await consortium.close()
    throw err
  }
  registerCleanup(opts.onCleanup, async () => { await consortium.close() })
  return consortium
}

export async function waitUntil (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
