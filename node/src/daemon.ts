/**
 * The daemon an institution runs (DESIGN §5), wired by hand in one place:
 *
 *   config ─► data dir (0700) ─► keys (institution, libp2p; 0600)
 *          ─► Ledger (Corestore in store/) ─► registry (created, or followed by key)
 *          ─► audit log (a Hypercore in the same store; also logs phones' logins over libp2p)
 *          ─► NetworkNode (libp2p, gossip, replication, appends, witness)
 *          ─► query index (SQLite in index/, fed from every chain that changes)
 *          ─► API keys, sessions, exam sealer (worker threads)
 *          ─► HTTP API (Fastify) on api.host:api.port
 *
 * `stop()` undoes it in reverse order: the API stops taking requests first
 * (answers under way finish), then the network, then storage.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { userIdFromKey, type ExamPlain, type ExamSealed, type PartyKeys, type UserId } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger } from '@healthchain/ledger'
import { NetworkNode } from '@healthchain/net'
import { ApiKeyStore } from './auth/api-keys.js'
import { ChallengeStore } from './auth/challenge.js'
import { Sessions } from './auth/sessions.js'
import { TokenStore } from './auth/tokens.js'
import { AuditAggregator } from './audit/audit-aggregator.js'
import { AuditLog } from './audit/audit-log.js'
import { auditNetworkLogins } from './audit/network-logins.js'
import type { NodeConfig } from './config.js'
import { prepareDataDir, type DataDirLayout } from './data-dir.js'
import { NodeError } from './errors.js'
import { registerAuditRoutes } from './http/routes/audit.js'
import { registerChainRoutes, writeExam, type ChainRoutesDeps } from './http/routes/chains.js'
import { registerFhirRoutes } from './http/routes/fhir.js'
import { registerInsightRoutes } from './http/routes/insights.js'
import { INDEX_FILE_NAME, QueryIndex, type IndexFollower } from './query-index/index.js'
import { registerRegistryRoutes } from './http/routes/registry.js'
import { createServer } from './http/server.js'
import type { App } from './http/types.js'
import { loadOrCreateNodeKeys } from './node-keys.js'
import { createExamSealer, type ExamSealer } from './sealing/exam-sealer.js'

export interface DaemonOptions {
  /** Fastify's logger; default off. */
  readonly logger?: boolean
  /** Worker threads sealing examiners' exams; 0 seals on the event loop. Default: one per core but one (at least one, at most four). */
  readonly sealWorkers?: number
}

export class Daemon {
  readonly config: NodeConfig
  readonly layout: DataDirLayout
  readonly keys: PartyKeys
  readonly ledger: Ledger
  readonly network: NetworkNode
  readonly audit: AuditLog
  /** Where every audit line goes: the audit log, with repeated refusals of unauthenticated callers counted. */
  readonly auditSink: AuditAggregator
  readonly apiKeys: ApiKeyStore
  readonly app: App
  readonly index: QueryIndex
  readonly follower: IndexFollower
  private readonly sealer: ExamSealer
  private readonly chainDeps: ChainRoutesDeps
  private stopping: Promise<void> | undefined

  private constructor (parts: {
    config: NodeConfig, layout: DataDirLayout, keys: PartyKeys, ledger: Ledger, network: NetworkNode, audit: AuditLog, auditSink: AuditAggregator, apiKeys: ApiKeyStore, app: App,
    index: QueryIndex, follower: IndexFollower, sealer: ExamSealer, chainDeps: ChainRoutesDeps
  }) {
    this.sealer = parts.sealer
    this.chainDeps = parts.chainDeps
    this.index = parts.index
    this.follower = parts.follower
    this.config = parts.config
    this.layout = parts.layout
    this.keys = parts.keys
    this.ledger = parts.ledger
    this.network = parts.network
    this.audit = parts.audit
    this.auditSink = parts.auditSink
    this.apiKeys = parts.apiKeys
    this.app = parts.app
  }

  /**
   * Starts a node from its config. The ledger must have a registry: created
   * here before (`healthchain consortium create`) or followed by
   * `config.registryKey` (NO_REGISTRY otherwise).
   */
  static async start (config: NodeConfig, opts: DaemonOptions = {}): Promise<Daemon> {
    const crypto = sodiumProvider
    const layout = await prepareDataDir(config.dataDir)
    const keys = await loadOrCreateNodeKeys(layout.keys, crypto)
    const ledger = await Ledger.open({ dir: layout.store, institution: config.name, crypto })
    const cleanup: Array<() => Promise<unknown>> = [async () => { await ledger.close() }]
    try {
      await ensureRegistry(ledger, config)
      const audit = await AuditLog.open(ledger)
      cleanup.unshift(async () => { await audit.close() })
      let app: App | undefined
      const auditSink = new AuditAggregator(audit, {
        windowMs: config.audit.windowSeconds * 1000,
        maxGroups: config.audit.maxGroups,
        onError: (err) => { app?.log.error({ err }, 'aggregate audit lines could not be written; kept for the next window') }
      })
      auditSink.start()
      // Closed after the API and the network (it flushes what they counted), before the log.
      cleanup.unshift(async () => { await auditSink.close() })
      const index = QueryIndex.open(join(layout.index, INDEX_FILE_NAME))
      cleanup.unshift(async () => { await index.close() })
      const follower = index.followLedger(ledger)
      cleanup.unshift(async () => { await follower.stop() })
      const network = await NetworkNode.start({
        ledger,
        privateKey: keys.p2p,
        listen: config.p2p.listen,
        bootstrapPeers: config.p2p.bootstrap.map(peerIdOf),
        signer: keys.institution.sign,
        onInbound: auditNetworkLogins(auditSink),
        inboundLimit: { connections: config.p2p.inboundConnectionsPerSecond, seconds: 1 }
      })
      cleanup.unshift(async () => { await network.stop() })
      // Dial bootstrap peers in the background: a node must start even while they are down (the dialer retries).
      for (const address of config.p2p.bootstrap) void network.dial(address).catch(() => {})

      const apiKeys = await ApiKeyStore.open(layout.apiKeysFile)
      const tokens = new TokenStore({ ttlMs: config.auth.tokenTtlSeconds * 1000 })
      const challenges = new ChallengeStore(
        { crypto, lookupUserKey: async (user) => await userSigningKey(ledger, user) },
        { node: config.name, ttlMs: config.auth.challengeTtlSeconds * 1000 }
      )
      const sessions = new Sessions({ apiKeys, tokens, challenges }, { role: config.role })
      const sealer = createExamSealer(crypto, opts.sealWorkers)
      cleanup.unshift(async () => { await sealer.close() })
      const chainDeps = { sessions, network, ledger, institution: { id: config.name, keys: keys.institution }, crypto, sealer }
      app = await createServer({
        sessions,
        audit: auditSink,
        status: () => {
          const s = network.status()
          return { peerId: s.peerId, connectedPeers: s.peers, chainsHeld: s.chains, replicationLag: s.replicationLag }
        }
      }, {
        name: config.name,
        role: config.role,
        bodyLimit: config.api.bodyLimit,
        rateLimit: { windowMs: config.api.rateLimit.windowSeconds * 1000, logins: config.api.rateLimit.logins, requests: config.api.rateLimit.requests },
        logger: opts.logger ?? false,
        routes: [
          (app) => { registerChainRoutes(app, chainDeps) },
          (app) => { registerFhirRoutes(app, chainDeps) },
          (app) => { registerInsightRoutes(app, { sessions, ledger, index }) },
          (app) => { registerRegistryRoutes(app, { ledger }) },
          (app) => { registerAuditRoutes(app, { sessions, audit }) }
        ]
      })
      const server = app
      cleanup.unshift(async () => { await server.close() })
      await server.listen({ host: config.api.host, port: config.api.port })
      return new Daemon({ config, layout, keys: keys.institution, ledger, network, audit, auditSink, apiKeys, app: server, index, follower, sealer, chainDeps })
    } catch (err) {
      for (const step of cleanup) await step().catch(() => {})
      throw err
    }
  }

  /** The API's base URL (the port actually bound, when the config asked for 0). */
  get apiUrl (): string {
    const address = this.app.server.address()
    const port = typeof address === 'object' && address !== null ? address.port : this.config.api.port
    const host = this.config.api.host.includes(':') ? `[${this.config.api.host}]` : this.config.api.host
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  }

  /**
   * Writes an exam as this institution, exactly as POST
   * /v1/users/{id}/entries does for an examiner (sealed, signed, appended at
   * the custodian) but without HTTP, a session or an audit line: for
   * programs embedding the node, and the HTTP benchmark's baseline.
   */
  async writeExam (user: UserId, exam: { plain: ExamPlain, sealed?: ExamSealed }): Promise<{ seq: number, id: string, duplicate: boolean }> {
    return await writeExam(this.chainDeps, user, exam)
  }

  /** Stops the API, then the network, then storage; a second call waits for the first. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.app.close()
      await this.sealer.close()
      await this.follower.stop()
      await this.network.stop()
      // What the API and the network counted is written before the log closes.
      await this.auditSink.close()
      await this.audit.close()
      await this.index.close()
      await this.ledger.close()
    })()
    await this.stopping
  }
}

async function ensureRegistry (ledger: Ledger, config: NodeConfig): Promise<void> {
  if (ledger.hasRegistry) {
    if (config.registryKey !== undefined && Buffer.from(ledger.registry.key).toString('hex') !== config.registryKey) {
      throw new NodeError('CONFIG_INVALID', `registryKey: this data directory follows registry ${Buffer.from(ledger.registry.key).toString('hex').slice(0, 16)}…, not the one configured`, { field: 'registryKey' })
    }
    return
  }
  if (config.registryKey === undefined) {
    throw new NodeError('CONFIG_INVALID', 'registryKey: this node has no registry yet; set registryKey to the consortium\'s registry key (or create one with `healthchain consortium create`)', { field: 'registryKey' })
  }
  await ledger.followRegistry(new Uint8Array(Buffer.from(config.registryKey, 'hex')))
}

function peerIdOf (address: string): string {
  const id = multiaddr(address).getComponents().find((c) => c.name === 'p2p')?.value
  if (id === undefined) throw new NodeError('CONFIG_INVALID', `p2p.bootstrap: ${address} names no /p2p/<peer id>`, { field: 'p2p.bootstrap' })
  return id
}

/** The signing key a user's genesis names, if this node holds the user's chain (for the login challenge). */
async function userSigningKey (ledger: Ledger, user: UserId): Promise<Uint8Array | undefined> {
  if (!ledger.hasChain(user)) return undefined
  // A visit, not chain(): login attempts (which anyone may make) must not leave chains open in memory.
  const key = await ledger.withChain(user, async (chain) => chain.user?.sign)
  // The id is derived from the key: check anyway, so a catalog mix-up can never log in the wrong person.
  return key !== undefined && userIdFromKey(key) === user ? key : undefined
}
