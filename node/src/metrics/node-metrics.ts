/**
 * The node's Prometheus metrics (prom-client), one registry per node: tests
 * and embedding programs run several nodes in one process, so the global
 * default registry is never used.
 *
 * Two kinds of source:
 *   - the HTTP API tells each answer (`observeRequest`, from an onResponse
 *     hook): requests by route pattern, method and status, latency by kind
 *     (read or write), refusals by error code;
 *   - everything else already counts itself where it lives (the network's
 *     status and heads stats, the witness, the audit log, the worker pools,
 *     the query index follower): read at scrape time by collect callbacks,
 *     so nothing is threaded through the services.
 *
 * Labels are bounded: a route pattern (`/v1/users/:id/entries`, never the
 * URL), a method, a status, an error code, a witness refusal reason, a peer
 * kind, a pool name. Never a user id, chain key, peer id or anything of a
 * request's content.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** What the collect callbacks read; each part is read at scrape time only. */
export interface NodeMetricsComponents {
  /** The network node's status (peers, chains, replication lag, heads stats). */
  readonly network: () => {
    readonly peers: readonly string[]
    readonly lightPeers: number
    readonly chains: number
    readonly openChains: number
    readonly forkedChains: readonly unknown[]
    readonly replicationLag: { readonly chainsBehind: number, readonly blocksBehind: number }
    readonly heads: { readonly received: number, readonly announced: number, readonly invalid: number, readonly malformed: number, readonly forks: number }
  }
  /** The witness's counts, on a node that runs one. */
  readonly witness: () => { readonly cosigned: number, readonly refused: ReadonlyMap<string, number> } | undefined
  /** Lines in the audit log. */
  readonly auditLines: () => number
  /** Jobs waiting on or running in each worker pool. */
  readonly workerQueues: () => { readonly sealing: number, readonly verification: number }
  /** The query index follower's counts. */
  readonly index: () => { readonly indexedEntries: number, readonly failures: number }
}

export interface NodeMetricsInit {
  /** Constant labels on every series: the institution id and role (one value each per node). */
  readonly node: string
  readonly role: string
}

/** The route label of a request no route matched (a 404 by path): the URL itself is never a label. */
export const UNMATCHED_ROUTE = '(unmatched)'

/** Latency buckets (seconds): a read from the index is milliseconds, a sealed write a few tens, a forwarded one more. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class NodeMetrics {
  readonly registry: Registry
  private readonly requests: Counter<'route' | 'method' | 'status'>
  private readonly latency: Histogram<'kind'>
  private readonly refusals: Counter<'code'>

  constructor (components: NodeMetricsComponents, init: NodeMetricsInit) {
    const registry = new Registry()
    this.registry = registry
    registry.setDefaultLabels({ node: init.node, role: init.role })
    // Process CPU, memory, handles, GC, and the event loop's delay (healthchain_nodejs_eventloop_lag_*), from perf_hooks.
    collectDefaultMetrics({ register: registry, prefix: 'healthchain_' })

    this.requests = new Counter({
      name: 'healthchain_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry]
    })
    this.latency = new Histogram({
      name: 'healthchain_http_request_duration_seconds',
      help: 'Time from request to answer: kind "read" (GET, HEAD) or "write" (every other method)',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers: [registry]
    })
    this.refusals = new Counter({
      name: 'healthchain_refusals_total',
      help: 'Requests refused with an error body, by its code',
      labelNames: ['code'],
      registers: [registry]
    })

    const gauge = (name: string, help: string, read: () => number): void => {
      // eslint-disable-next-line no-new -- registered with the registry, which keeps it
      new Gauge({ name, help, registers: [registry], collect () { this.set(read()) } })
    }
    // A count kept elsewhere since the node started (or, for the audit log, since the log began): never goes down.
    const total = (name: string, help: string, read: () => number): void => {
      // eslint-disable-next-line no-new -- registered with the registry, which keeps it
      new Counter({ name, help, registers: [registry], collect () { this.reset(); this.inc(read()) } })
    }
    const network = components.network
    gauge('healthchain_chains_held', 'Chains this node holds, as custodian or replica', () => network().chains)
    gauge('healthchain_chains_open', 'Chains open in memory now', () => network().openChains)
    gauge('healthchain_forked_chains', 'Chains with a fork proof: their custodian signed two histories', () => network().forkedChains.length)
    gauge('healthchain_replication_lag_chains', 'Chains behind a longer head seen (fetch queued, under way or failed)', () => network().replicationLag.chainsBehind)
    gauge('healthchain_replication_lag_blocks', 'Blocks those chains lacked when the longer head was seen', () => network().replicationLag.blocksBehind)
    // eslint-disable-next-line no-new -- registered with the registry, which keeps it
    new Gauge({
      name: 'healthchain_peers',
      help: 'Open connections by kind: "institution" (registry members) or "light" (users\' phones)',
      labelNames: ['kind'],
      registers: [registry],
      collect () {
        const s = network()
        this.set({ kind: 'institution' }, s.peers.length)
        this.set({ kind: 'light' }, s.lightPeers)
      }
    })
    total('healthchain_gossip_heads_received_total', 'Signed heads received (gossip and sync)', () => network().heads.received)
    total('healthchain_gossip_heads_invalid_total', 'Heads received that did not verify, and gossip messages that did not decode', () => {
      const h = network().heads
      return h.invalid + h.malformed
    })
    total('healthchain_gossip_heads_published_total', 'Own heads published on the heads topic', () => network().heads.announced)
    total('healthchain_fork_proofs_total', 'Fork proofs recorded here (detected or received)', () => network().heads.forks)
    total('healthchain_witness_cosignatures_total', 'Heads this node cosigned as a witness (0 on a node that is not one)', () => components.witness()?.cosigned ?? 0)
    // eslint-disable-next-line no-new -- registered with the registry, which keeps it
    new Counter({
      name: 'healthchain_witness_refusals_total',
      help: 'Heads this witness refused to cosign, by reason',
      labelNames: ['reason'],
      registers: [registry],
      collect () {
        this.reset()
        for (const [reason, count] of components.witness()?.refused ?? []) this.inc({ reason }, count)
      }
    })
    total('healthchain_audit_lines_total', 'Lines in the audit log (logins, reads, writes, refusals)', components.auditLines)
    // eslint-disable-next-line no-new -- registered with the registry, which keeps it
    new Gauge({
      name: 'healthchain_worker_queue_depth',
      help: 'Jobs waiting on or running in a worker pool: "sealing" (exams) or "verification" (replicated blocks)',
      labelNames: ['pool'],
      registers: [registry],
      collect () {
        const queues = components.workerQueues()
        this.set({ pool: 'sealing' }, queues.sealing)
        this.set({ pool: 'verification' }, queues.verification)
      }
    })
    total('healthchain_index_entries_total', 'Entries the query index indexed since the start', () => components.index().indexedEntries)
    total('healthchain_index_failures_total', 'Chains whose indexing failed (retried) since the start', () => components.index().failures)
  }

  /** One answered request: `route` is the matched route pattern (UNMATCHED_ROUTE when none), `code` the error code of a refusal. */
  observeRequest (request: { route: string, method: string, status: number, seconds: number, code: string | undefined }): void {
    this.requests.inc({ route: request.route, method: request.method, status: String(request.status) })
    this.latency.observe({ kind: request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write' }, request.seconds)
    if (request.code !== undefined) this.refusals.inc({ code: request.code })
  }

  /** The text exposition format, for GET /metrics. */
  async render (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
