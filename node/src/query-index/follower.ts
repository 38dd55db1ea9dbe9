/**
 * Keeps the query index up to date with a ledger, from outside it: the
 * ledger, the chains and the network know nothing of the index.
 *
 * Flow:
 *   start()        ─► the catch-up: every chain the ledger holds whose
 *                     stored length differs from its cursor is queued (the
 *                     lengths are read from storage in pages, without opening
 *                     the chains: a restart of a node holding many chains
 *                     opens only those that grew, and indexes only the
 *                     entries after each cursor)
 *   ledger.onChange ─► queues the chain at once: every append written
 *                     here, every enrolment, every ingest of blocks fetched
 *                     from a peer (the ledger's one change event)
 *   sweepIntervalMs ─► optionally runs the catch-up again, periodically
 *
 * One worker drains the queue (SQLite has one writer anyway). On a replica
 * a chain's verified length moves only after `ingest()`, a moment after the
 * blocks arrived: when a chain still has unverified blocks after indexing,
 * or its indexing failed, it is queued again after `retryMs`, a bounded
 * number of times.
 *
 * The ledger closes idle chains (Ledger.closeIdle); a chain is asked from
 * the ledger afresh for every run, never kept.
 */
import type { UserId } from '@healthchain/core'
import type { Ledger, StoredLength } from '@healthchain/ledger'
import type { IndexResult } from './query-index.js'
import type { UserChain } from '@healthchain/ledger'

/** Chains whose stored lengths one storage read asks for, in the catch-up. */
const SWEEP_PAGE = 1000

/** What the follower needs of an index: either backend (SQLite answers isIndexedTo at once, PostgreSQL in a promise). */
export interface FollowedIndex {
  indexChain: (chain: UserChain, user?: UserId) => Promise<IndexResult>
  isIndexedTo: (user: UserId, chainKey: Uint8Array, length: number) => boolean | Promise<boolean>
}

export interface IndexFollowerComponents {
  readonly ledger: Ledger
  readonly index: FollowedIndex
}

export interface IndexFollowerInit {
  /** Run the catch-up again this often (ms); 0 (default): only at start. */
  readonly sweepIntervalMs?: number
  /** Wait before looking again at a chain with unverified blocks, or whose indexing failed (default 250 ms). */
  readonly retryMs?: number
  /** How many times in a row to look again at such a chain (default 20). */
  readonly maxRetries?: number
  /**
   * Told of every chain that failed to index (it stays at its cursor, is looked at again after retryMs a bounded number of times,
   * and again when it next grows).
   */
  readonly onError?: (user: UserId, error: unknown) => void
  /** Told of every chain indexed. */
  readonly onIndexed?: (result: IndexResult) => void
}

export interface FollowerStats {
  indexedChains: number
  indexedEntries: number
  failures: number
  /** Chains the catch-up found up to date by their stored length, and so did not open. */
  skippedChains: number
}

export class IndexFollower {
  private readonly ledger: Ledger
  private readonly index: FollowedIndex
  private readonly init: IndexFollowerInit
  private readonly queue = new Set<UserId>()
  private readonly retries = new Map<UserId, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private worker: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private sweeping: Promise<void> | undefined
  private sweeper: NodeJS.Timeout | undefined
  private idleWaiters: Array<() => void> = []
  private stopped = false
  readonly stats: FollowerStats = { indexedChains: 0, indexedEntries: 0, failures: 0, skippedChains: 0 }

  constructor (components: IndexFollowerComponents, init: IndexFollowerInit = {}) {
    this.ledger = components.ledger
    this.index = components.index
    this.init = init
  }

  /**
   * Starts following: every change the ledger tells from now on queues its
   * chain, then the catch-up (in the background: `idle()` waits for it) and
   * the optional periodic one.
   */
  start (): void {
    this.unsubscribe = this.ledger.onChange(({ user }) => { this.notify(user) })
    void this.sweep()
    const every = this.init.sweepIntervalMs ?? 0
    if (every > 0) {
      this.sweeper = setInterval(() => { void this.sweep() }, every)
      this.sweeper.unref()
    }
  }

  /**
   * The catch-up: queues every chain the ledger holds whose stored length
   * is not what the index has for it (a chain that grew, one the index does
   * not know, or one replaced or truncated). A page whose lengths cannot be
   * read is queued whole: opening a chain costs more, but misses nothing.
   * A second call while one runs joins it.
   */
  async sweep (): Promise<void> {
    this.sweeping ??= (async () => {
      const users = this.ledger.users()
      for (let start = 0; start < users.length && !this.stopped; start += SWEEP_PAGE) {
        const page = users.slice(start, start + SWEEP_PAGE)
        let stored: Map<UserId, StoredLength | undefined> | undefined
        try {
          stored = await this.ledger.storedLengths(page)
        } catch {
          stored = undefined
        }
        if (this.stopped) return
        for (const user of page) {
          const chain = stored?.get(user)
          if (chain !== undefined && await this.index.isIndexedTo(user, chain.key, chain.length)) this.stats.skippedChains++
          else this.notify(user)
        }
      }
    })().finally(() => {
      this.sweeping = undefined
      if (this.worker === undefined && this.queue.size === 0) this.wakeIdle()
    })
    await this.sweeping
  }

  /** Queues a user's chain for indexing (coalesced: a chain queued twice is indexed once). */
  private notify (user: UserId): void {
    if (this.stopped) return
    this.queue.add(user)
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined
      if (this.queue.size > 0 && !this.stopped) this.notify([...this.queue][0]!)
      else if (this.sweeping === undefined) this.wakeIdle()
    })
  }

  /** Resolves once no catch-up runs and nothing is queued or being indexed (retries waiting on a timer do not count). */
  async idle (): Promise<void> {
    while (true) {
      await this.sweeping
      if (this.worker === undefined && this.queue.size === 0) return
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
      if (this.sweeping === undefined) return
    }
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
    let unverified: boolean
    try {
      // A chain opened here only to index it is closed again after (the catch-up must not hold every chain open).
      unverified = await this.ledger.withChain(user, async (chain) => {
        const result = await this.index.indexChain(chain, user)
        this.stats.indexedChains++
        this.stats.indexedEntries += result.entries
        this.init.onIndexed?.(result)
        return Math.min(chain.verifiedLength, chain.length) < chain.length
      })
    } catch (error) {
      if (this.stopped) return
      this.stats.failures++
      this.init.onError?.(user, error)
      // Looked at again shortly, a few times: a passing fault (storage busy) must not leave the chain unindexed until it grows.
      this.retryLater(user)
      return
    }
    // Blocks here but not verified yet (a replica between download and ingest): look again shortly, a few times.
    if (unverified) this.retryLater(user)
    else this.retries.delete(user)
  }

  private retryLater (user: UserId): void {
    if (this.stopped) return
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
    this.unsubscribe?.()
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.queue.clear()
    await this.sweeping
    await this.worker
    this.wakeIdle()
  }
}
