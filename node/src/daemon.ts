/**
 * The daemon an institution runs: the node's parts, built from its config
 * (context.ts), with the HTTP API (Fastify) in front of them on
 * api.host:api.port. Each route module gets the one service it calls.
 *
 * Beside the API: GET /livez and /readyz on the API's address, the
 * Prometheus metrics on their own (`metrics: { host, port }`, when
 * configured; metrics/), and a JSON log line per request and event when the
 * daemon is given somewhere to log (metrics/log.ts).
 *
 * `stop()` undoes it in reverse order: the metrics listener and the API stop
 * taking requests first (answers under way finish), then the context closes
 * (the network, then storage).
 */
import type { ExamPlain, ExamSealed, PartyKeys, UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { NetworkNode } from '@healthchain/net'
import type { WriteReply } from './api/chains.js'
import type { ApiKeyStore } from './auth/api-keys.js'
import type { AuditAggregator } from './audit/audit-aggregator.js'
import type { AuditLog } from './audit/audit-log.js'
import type { LogLevel, NodeConfig } from './config.js'
import { createNodeContext, type NodeContext } from './context.js'
import type { DataDirLayout } from './data-dir.js'
import { registerAuditRoutes } from './http/routes/audit.js'
import { registerChainRoutes } from './http/routes/chains.js'
import { registerCustodyRoutes } from './http/routes/custody.js'
import { registerEnrolmentRoutes } from './http/routes/enrolments.js'
import { registerHealthRoutes } from './http/routes/health.js'
import { registerFhirRoutes } from './http/routes/fhir.js'
import { registerBatchRoutes } from './http/routes/batch.js'
import { registerInsightRoutes } from './http/routes/insights.js'
import { registerNetworkRoutes } from './http/routes/network.js'
import { registerRegistryRoutes } from './http/routes/registry.js'
import { createServer } from './http/server.js'
import type { RestoreHoldOptions } from './backup/catch-up.js'
import { listenControlSocket, type ControlSocket } from './backup/control-socket.js'
import type { App } from './http/types.js'
import { nodeLoggerOptions, type LogDestination } from './metrics/log.js'
import { MetricsServer } from './metrics/metrics-server.js'
import { NodeMetrics } from './metrics/node-metrics.js'
import { ReadinessProbe } from './metrics/readiness.js'
import type { IndexFollower, PgQueryIndex, QueryIndex } from './query-index/index.js'
import { createBatchService } from './services/batch.js'
import { createEnrolmentService } from './services/enrolments.js'

export interface DaemonOptions {
  /** Where the JSON log goes (`healthchain start`: stdout), at `level` (default the config's `logLevel`); absent: no log. */
  readonly log?: { readonly destination: LogDestination, readonly level?: LogLevel }
  /** Overrides the config's `sealWorkers` (worker threads sealing examiners' exams; 0 seals on the event loop). */
  readonly sealWorkers?: number
  /** A data directory restored from a backup: the catch-up quorum, or the operator's acceptance of the restored state. */
  readonly restore?: RestoreHoldOptions
}

/** How long the network status read for one scrape's series is reused. */
const STATUS_REUSE_MS = 100

/** How long a stop lets requests in flight finish before closing every connection. */
const STOP_GRACE_MS = 2000

export class Daemon {
  readonly context: NodeContext
  readonly app: App
  /** The node's Prometheus registry and request counters (served when the config has `metrics`). */
  readonly metrics: NodeMetrics
  /** What GET /readyz answers. */
  readonly readiness: ReadinessProbe
  /** The metrics listener, when the config has `metrics`. */
  readonly metricsServer: MetricsServer | undefined
  private stopping: Promise<void> | undefined
  /** The backup control socket in the data directory (backup/control-socket.ts); undefined where it could not listen. */
  private control: ControlSocket | undefined

  private constructor (context: NodeContext, app: App, parts: { metrics: NodeMetrics, readiness: ReadinessProbe, metricsServer: MetricsServer | undefined }) {
    this.context = context
    this.app = app
    this.metrics = parts.metrics
    this.readiness = parts.readiness
    this.metricsServer = parts.metricsServer
  }

  get config (): NodeConfig { return this.context.config }
  get layout (): DataDirLayout { return this.context.layout }
  get keys (): PartyKeys { return this.context.keys }
  get ledger (): Ledger { return this.context.ledger }
  get network (): NetworkNode { return this.context.network }
  get audit (): AuditLog { return this.context.audit }
  /** Where every audit line goes: the audit log, with repeated refusals of unauthenticated callers counted. */
  get auditSink (): AuditAggregator { return this.context.auditSink }
  get apiKeys (): ApiKeyStore { return this.context.apiKeys }
  get index (): QueryIndex | PgQueryIndex { return this.context.index }
  get follower (): IndexFollower { return this.context.follower }

  /**
   * Starts a node from its config. The ledger must have a registry: created
   * here before (`healthchain consortium create`) or followed by
   * `config.registryKey` (CONFIG_INVALID otherwise).
   */
  static async start (config: NodeConfig, opts: DaemonOptions = {}): Promise<Daemon> {
    let app: App | undefined
    const context = await createNodeContext(config, {
      onAuditError: (err) => { app?.log.error({ event: 'audit-error', err }, 'aggregate audit lines could not be written; kept for the next window') },
      ...(opts.sealWorkers === undefined ? {} : { sealWorkers: opts.sealWorkers }),
      ...(opts.restore === undefined ? {} : { restore: opts.restore })
    })
    let metricsServer: MetricsServer | undefined
    try {
      const { sessions, services } = context
      const metrics = createDaemonMetrics(context)
      const readiness = new ReadinessProbe({ ledger: context.ledger, network: context.network, follower: context.follower })
      const enrolments = createEnrolmentService({ chains: services.chains, custodian: config.name }, {
        ttlMs: config.auth.enrolmentTicketTtlSeconds * 1000, maxOpen: config.auth.maxOpenEnrolmentTickets
      })
      const batch = createBatchService({ chains: services.chains }, { maxItems: config.api.batchMaxItems })
      app = await createServer({ sessions, audit: context.auditSink, status: () => context.status(), metrics }, {
        name: config.name,
        role: config.role,
        bodyLimit: config.api.bodyLimit,
        rateLimit: { windowMs: config.api.rateLimit.windowSeconds * 1000, logins: config.api.rateLimit.logins, requests: config.api.rateLimit.requests },
        logger: opts.log === undefined
          ? false
          : nodeLoggerOptions({ node: config.name, level: opts.log.level ?? config.logLevel, destination: opts.log.destination }),
        console: config.console,
        routes: [
          (app) => { registerChainRoutes(app, { sessions, chains: services.chains }) },
          (app) => { registerEnrolmentRoutes(app, { sessions, enrolments }) },
          (app) => { registerCustodyRoutes(app, { sessions, custody: services.custody }) },
          (app) => { registerFhirRoutes(app, { sessions, fhir: services.fhir }) },
          (app) => { registerBatchRoutes(app, { sessions, batch, audit: context.auditSink, bodyLimit: config.api.batchBodyLimit }) },
          (app) => { registerInsightRoutes(app, { sessions, insights: services.insights }) },
          (app) => { registerRegistryRoutes(app, { registry: services.registry }) },
          (app) => { registerAuditRoutes(app, { sessions, audit: services.audit }) },
          (app) => { registerNetworkRoutes(app, { sessions, network: services.network }) },
          (app) => { registerHealthRoutes(app, { readiness: () => readiness.check() }) }
        ]
      })
      await app.listen({ host: config.api.host, port: config.api.port })
      if (config.metrics !== undefined) metricsServer = await MetricsServer.listen(metrics, config.metrics)
      const daemon = new Daemon(context, app, { metrics, readiness, metricsServer })
      // Without the socket (a path too long for one, a file system without them) the node runs; a backup then needs it stopped.
      daemon.control = await listenControlSocket({
        ledger: context.ledger, layout: context.layout, node: config.name, role: config.role, institution: config.name
      }).catch((err: unknown) => { app?.log.warn({ event: 'control-socket', err }, 'the backup control socket is not available'); return undefined })
      app.log.info({ event: 'start', role: config.role, api: daemon.apiUrl, metrics: metricsServer?.url, peerId: context.network.peerId }, 'node started')
      return daemon
    } catch (err) {
      await metricsServer?.close().catch(() => {})
      await app?.close().catch(() => {})
      await context.close().catch(() => {})
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
  async writeExam (user: UserId, exam: { plain: ExamPlain, sealed?: ExamSealed }): Promise<WriteReply> {
    return await this.context.services.chains.writeExam(user, exam)
  }

  /** Stops the API, then the network, then storage; a second call waits for the first. */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      // A browser keeps a spare connection open without sending on it; Node counts it as busy (waiting for headers), so the
      // close would wait for the headers timeout. Requests in flight get a grace period, then every connection is closed.
      this.app.log.info({ event: 'stop' }, 'node stopping')
      await this.metricsServer?.close()
      const grace = setTimeout(() => { this.app.server.closeAllConnections() }, STOP_GRACE_MS)
      try {
        await this.app.close()
      } finally {
        clearTimeout(grace)
      }
      await this.control?.close()
      await this.context.close()
    })()
    await this.stopping
  }
}

/** The metrics of a node's parts, read where they live at scrape time (metrics/node-metrics.ts). */
function createDaemonMetrics (context: NodeContext): NodeMetrics {
  const { network, ledger, follower, audit, sealer, config } = context
  // One scrape reads the status for several series: taken once, not once per series.
  let status: { value: ReturnType<NetworkNode['status']>, at: number } | undefined
  return new NodeMetrics({
    network: () => {
      if (status === undefined || Date.now() - status.at > STATUS_REUSE_MS) status = { value: network.status(), at: Date.now() }
      return status.value
    },
    witness: () => network.witness?.stats,
    auditLines: () => audit.length,
    workerQueues: () => ({ sealing: sealer.queued, verification: ledger.verifyQueueDepth }),
    index: () => follower.stats
  }, { node: config.name, role: config.role })
}
