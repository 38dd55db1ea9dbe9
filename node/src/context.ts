/**
 * Everything a running node is made of, built once from its config and
 * wired by hand in one place; the HTTP server (daemon.ts) is put in front
 * of it, and embedding programs and tests can reach its parts.
 *
 *   config ─► data dir (0700) ─► keys (institution, libp2p; 0600)
 *          ─► Ledger (Corestore in store/) ─► registry (created, or followed by key)
 *          ─► query index (SQLite in index/), fed from every chain that changes
 *          ─► audit log (a Hypercore in the same store; also logs phones' logins over libp2p)
 *          ─► NetworkNode (libp2p, gossip, replication, appends, witness)
 *          ─► API keys, sessions, exam sealer (worker threads)
 *          ─► services: access policy, chains, insights, FHIR, registry, audit
 *
 * `close()` undoes it in reverse order: the sealer, the index follower, the
 * network, then the audit sink (it flushes what the API and the network
 * counted), the audit log, the index and the ledger. A start that
 * fails part-way closes what it had opened.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { type CryptoProvider, type PartyKeys, type UserId } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, type ChainUser } from '@healthchain/ledger'
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
import { InstitutionKeyring } from './institution-keyring.js'
import { loadOrCreateNodeKeys } from './node-keys.js'
import { INDEX_FILE_NAME, PgQueryIndex, QueryIndex, type IndexFollower } from './query-index/index.js'
import type { StatusFields } from './api/node.js'
import { createExamSealer, type ExamSealer } from './sealing/exam-sealer.js'
import { createAccessPolicy, type AccessPolicy } from './services/access.js'
import { createAuditService, type AuditService } from './services/audit.js'
import { createChainService, type ChainService } from './services/chains.js'
import { createCustodyService, type CustodyService } from './services/custody.js'
import { holdIfRestored, type RestoreHoldOptions } from './backup/catch-up.js'
import { createFhirService, type FhirService } from './services/fhir.js'
import { createInsightService, type InsightService } from './services/insights.js'
import { createNetworkService, type NetworkService } from './services/network.js'
import { createRegistryService, type RegistryService } from './services/registry.js'

export interface NodeServices {
  readonly access: AccessPolicy
  readonly chains: ChainService
  readonly custody: CustodyService
  readonly insights: InsightService
  readonly fhir: FhirService
  readonly registry: RegistryService
  readonly audit: AuditService
  readonly network: NetworkService
}

export interface NodeContext {
  readonly config: NodeConfig
  readonly crypto: CryptoProvider
  readonly layout: DataDirLayout
  /** The institution's keys the registry lists now (the libp2p key stays with the network node). */
  readonly keys: PartyKeys
  /** Every generation of the institution's keys, and which one is in force (institution-keyring.ts). */
  readonly keyring: InstitutionKeyring
  readonly ledger: Ledger
  readonly audit: AuditLog
  /** Where every audit line goes: the audit log, with repeated refusals of unauthenticated callers counted. */
  readonly auditSink: AuditAggregator
  readonly index: QueryIndex | PgQueryIndex
  readonly follower: IndexFollower
  readonly network: NetworkNode
  readonly apiKeys: ApiKeyStore
  readonly sessions: Sessions
  readonly sealer: ExamSealer
  readonly services: NodeServices
  /** What GET /v1/status reports beyond the config's name and role. */
  status (): Promise<StatusFields>
  /** Closes every part, in reverse order; a second call waits for the first. */
  close (): Promise<void>
}

export interface NodeContextOptions {
  /** Where the audit sink reports lines it could not write (kept for the next window); default: nowhere. */
  readonly onAuditError?: (err: unknown) => void
  /** Overrides the config's `sealWorkers`. */
  readonly sealWorkers?: number
  /** A data directory restored from a backup: how its own writes wait until it caught up (backup/catch-up.ts). */
  readonly restore?: RestoreHoldOptions
}

/**
 * Opens a node's parts from its config. The ledger must have a registry:
 * created here before (`healthchain consortium create`) or followed by
 * `config.registryKey` (CONFIG_INVALID otherwise).
 */
export async function createNodeContext (config: NodeConfig, opts: NodeContextOptions = {}): Promise<NodeContext> {
  const crypto = sodiumProvider
  const layout = await prepareDataDir(config.dataDir)
  const keys = await loadOrCreateNodeKeys(layout.keys, crypto)
  const ledger = await Ledger.open({
    dir: layout.store,
    institution: config.name,
    crypto,
    writeBufferBytes: config.storage.writeBufferBytes,
    idsInMemory: config.storage.idsInMemory,
    ...(config.verifyWorkers === undefined ? {} : { verifyWorkers: config.verifyWorkers })
  })
  // Closed last to first; a start that fails part-way runs what it has so far.
  const closers: Array<() => Promise<unknown>> = [async () => { await ledger.close() }]
  try {
    await ensureRegistry(ledger, config)
    const keyring = new InstitutionKeyring({
      registry: ledger.registry,
      load: async () => (await loadOrCreateNodeKeys(layout.keys, crypto)).generations
    }, config.name, keys.generations)
    // A rotation arriving by replication may name a key file made after the start (`keys rotate` while running): read it then.
    const stopRefreshing = ledger.registry.onChange(() => { void keyring.refresh().catch(() => {}) })
    closers.unshift(async () => { stopRefreshing() })
    // SQLite in the data directory by default; PostgreSQL when the config says (INDEX_DATABASE if it cannot be reached).
    const index = config.index.kind === 'postgres' ? await PgQueryIndex.open(config.index.url) : QueryIndex.open(join(layout.index, INDEX_FILE_NAME))
    closers.unshift(async () => { await index.close() })
    // The audit log is a Hypercore in the ledger's own store.
    const audit = await AuditLog.open(ledger)
    closers.unshift(async () => { await audit.close() })
    const auditSink = new AuditAggregator(audit, {
      windowMs: config.audit.windowSeconds * 1000,
      maxGroups: config.audit.maxGroups,
      onError: (err) => { opts.onAuditError?.(err) }
    })
    auditSink.start()
    // Closed after the API and the network (it flushes what they counted), before the log.
    closers.unshift(async () => { await auditSink.close() })
    const follower = index.followLedger(ledger)
    const network = await NetworkNode.start({
      ledger,
      privateKey: keys.p2p,
      listen: config.p2p.listen,
      bootstrapPeers: config.p2p.bootstrap.map(peerIdOf),
      // Read on each use, so a witness cosigns with the key the registry lists once a rotation arrives.
      signer: { get publicKey () { return keyring.current().sign.publicKey }, get secretKey () { return keyring.current().sign.secretKey } },
      onInbound: auditNetworkLogins(auditSink),
      inboundLimit: { connections: config.p2p.inboundConnectionsPerSecond, seconds: 1 },
      replicateAll: config.p2p.replicateAll,
      chainIdleMs: config.chainIdleMs,
      cosignaturesInMemory: config.storage.cosignaturesInMemory
    })
    closers.unshift(async () => { await network.stop() })
    // Before anything can write: a restored node holds its own chains' writes until it caught up with its peers.
    await holdIfRestored(layout.root, network, opts.restore)
    closers.unshift(async () => { await follower.stop() })
    // Dial bootstrap peers in the background: a node must start even while they are down (the dialer retries).
    for (const address of config.p2p.bootstrap) void network.dial(address).catch(() => {})

    const apiKeys = await ApiKeyStore.open(layout.apiKeysFile)
    const tokens = new TokenStore({ ttlMs: config.auth.tokenTtlSeconds * 1000 })
    const challenges = new ChallengeStore(
      {
        crypto,
        lookupUserKey: async (user) => (await userInForce(ledger, user))?.sign,
        lookupUserGeneration: async (user) => (await userInForce(ledger, user))?.generation
      },
      { node: config.name, ttlMs: config.auth.challengeTtlSeconds * 1000 }
    )
    const sessions = new Sessions({ apiKeys, tokens, challenges }, { role: config.role })
    const sealer = createExamSealer(crypto, opts.sealWorkers ?? config.sealWorkers)
    closers.unshift(async () => { await sealer.close() })

    const access = createAccessPolicy({ ledger })
    const chains = createChainService({ ledger, network, institution: { id: config.name, keys: keyring }, crypto, sealer, access })
    const services: NodeServices = {
      access,
      chains,
      custody: createCustodyService({ ledger, network, institution: { id: config.name, keys: keyring }, crypto }),
      insights: createInsightService({ index, access }),
      fhir: createFhirService({ chains }),
      registry: createRegistryService({ ledger }),
      audit: createAuditService({ audit }),
      network: createNetworkService({ ledger, network, self: { name: config.name, role: config.role } })
    }
    // Its census visits chains: stopped before the network and the ledger close.
    closers.unshift(async () => { await services.network.close() })

    let closing: Promise<void> | undefined
    return {
      config,
      crypto,
      layout,
      get keys () { return keyring.current() },
      keyring,
      ledger,
      audit,
      auditSink,
      index,
      follower,
      network,
      apiKeys,
      sessions,
      sealer,
      services,
      async status () {
        const s = network.status()
        const hold = network.catchUp?.isHolding === true ? await network.catchUp.status() : undefined
        const catchUp = hold === undefined || !hold.holding
          ? null
          : { peersReconciled: hold.peersReconciled, quorum: hold.quorum, chainsBehind: hold.chainsBehind, blocksBehind: hold.blocksBehind }
        return { peerId: s.peerId, connectedPeers: s.peers, chainsHeld: s.chains, replicationLag: s.replicationLag, catchUp }
      },
      async close () {
        closing ??= (async () => { for (const close of closers) await close() })()
        await closing
      }
    }
  } catch (err) {
    for (const close of closers) await close().catch(() => {})
    throw err
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

/**
 * The user's signing key in force, if this node holds the user's chain (for
 * the login challenge): the genesis's, or the latest rekey's, so a
 * rotated-out key no longer logs in.
 */
/** The user's keys in force on this node's copy of their chain (the sign key logs in; its generation is named with each challenge). */
async function userInForce (ledger: Ledger, user: UserId): Promise<ChainUser | undefined> {
  if (!ledger.hasChain(user)) return undefined
  // A visit, not chain(): login attempts (which anyone may make) must not leave chains open in memory.
  const found = await ledger.withChain(user, async (chain) => chain.user)
  // The id is generation 0's, derived from the genesis key: checked anyway, so a catalog mix-up can never log in the wrong person.
  return found !== undefined && found.userId === user ? found : undefined
}
