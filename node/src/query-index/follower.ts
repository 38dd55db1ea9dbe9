/**
 * Keeps the query index up to date with a ledger, from outside it: the
 * ledger, the chains and the network know nothing of the index.
 *
 * Flow:
 *   start()        ─► every chain the ledger holds is queued (catch-up: the
 *                     index continues from each chain's cursor, so a restart
 *                     or a crash costs only the entries after it)
 *   a chain indexed ─► its Hypercore's 'append' events queue it again
 *                     (custodian appends; replica heads growing)
 *   notify(user)   ─► queues a chain at once (the daemon calls it after its
 *                     own writes and enrolments, and after a replica ingest)
 *   sweepIntervalMs ─► optionally queues every chain again, periodically
 *
 * One worker drains the queue (SQLite has one writer anyway). On a replica
 * a chain's verified length moves only after `ingest()`, a moment after the
 * blocks arrived: when a chain still has unverified blocks after indexing,
 * it is queued again after `retryMs`, a bounded number of times.
 *
 * The ledger closes idle chains (Ledger.closeIdle); a chain is asked from
 * the ledger afresh for every run, never kept.
 */
import type { UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import type { IndexResult, QueryIndex } from './query-index.js'

export interface IndexFollowerComponents {
  readonly ledger: Ledger
  readonly index: QueryIndex
}

export interface IndexFollowerInit {
  /** Queue every chain again this often (ms); 0 (default): only at start. Opening every chain is not free on a node holding many. */
  readonly sweepIntervalMs?: number
  /** Wait before looking again at a chain with unverified blocks (default 250 ms). */
  readonly retryMs?: number
  /** How many times in a row to look again at such a chain (default 20). */
  readonly maxRetries?: number
  /** Told of every chain that failed to index (it stays at its cursor and is retried when it next grows). */
  readonly onError?: (user: UserId, error: unknown) => void
  /** Told of every chain indexed. */
  readonly onIndexed?: (result: IndexResult) => void
}

export interface FollowerStats {
  indexedChains: number
  indexedEntries: number
  failures: number
}

export class IndexFollower {
  private readonly ledger: Ledger
  private readonly index: QueryIndex
  private readonly init: IndexFollowerInit
  private readonly queue = new Set<UserId>()
  private readonly retries = new Map<UserId, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Cores whose 'append' event queues their chain (weak: a closed core is dropped with its listener). */
  private readonly watched = new WeakSet<object>()
  private worker: Promise<void> | undefined
  private sweeper: NodeJS.Timeout | undefined
  private idleWaiters: Array<() => void> = []
  private stopped = false
  readonly stats: FollowerStats = { indexedChains: 0, indexedEntries: 0, failures: 0 }

  constructor (components: IndexFollowerComponents, init: IndexFollowerInit = {}) {
    this.ledger = components.ledger
    this.index = components.index
    this.init = init
  }

  /** Queues every chain (the catch-up) and starts the optional periodic sweep. */
  start (): void {
    this.sweep()
    const every = this.init.sweepIntervalMs ?? 0
    if (every > 0) {
      this.sweeper = setInterval(() => { this.sweep() }, every)
      this.sweeper.unref()
    }
  }

  /** Queues every chain the ledger holds. */
  sweep (): void {
    for (const user of this.ledger.users()) this.notify(user)
  }

  /** Queues a user's chain for indexing (coalesced: a chain queued twice is indexed once). */
  notify (user: UserId): void {
    if (this.stopped) return
    this.queue.add(user)
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined
      if (this.queue.size > 0 && !this.stopped) this.notify([...this.queue][0]!)
      else this.wakeIdle()
    })
  }

  /** Resolves once nothing is queued or being indexed (retries waiting on a timer do not count). */
  async idle (): Promise<void> {
    if (this.worker === undefined && this.queue.size === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  private wakeIdle (): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  private async drain (): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const user = this.queue.values().next().value as UserId
      this.queue.delete(user)
      await this.indexOne(user)
    }
  }

  private async indexOne (user: UserId): Promise<void> {
    let chain: UserChain
    try {
      chain = await this.ledger.chain(user)
      this.watch(user, chain)
      const result = await this.index.indexChain(chain, user)
      this.stats.indexedChains++
      this.stats.indexedEntries += result.entries
      this.init.onIndexed?.(result)
    } catch (error) {
      if (this.stopped) return
      this.stats.failures++
      this.init.onError?.(user, error)
      return
    }
    // Blocks here but not verified yet (a replica between download and ingest): look again shortly, a few times.
    if (Math.min(chain.verifiedLength, chain.length) < chain.length) this.retryLater(user)
    else this.retries.delete(user)
  }

  private watch (user: UserId, chain: UserChain): void {
    const core = chain.core
    if (this.watched.has(core)) return
    this.watched.add(core)
    core.on('append', () => { this.notify(user) })
  }

  private retryLater (user: UserId): void {
    const count = (this.retries.get(user) ?? 0) + 1
    if (count > (this.init.maxRetries ?? 20)) {
      this.retries.delete(user)
      return
    }
    this.retries.set(user, count)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.notify(user)
    }, this.init.retryMs ?? 250)
    timer.unref()
    this.timers.add(timer)
  }

  /** Stops queueing and waits for the chain being indexed, if any. */
  async stop (): Promise<void> {
    this.stopped = true
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.queue.clear()
    await this.worker
    this.wakeIdle()
  }
}

export function createIndexFollower (components: IndexFollowerComponents, init: IndexFollowerInit = {}): IndexFollower {
  return new IndexFollower(components, init)
}
