/**
 * Fetches chains that heads say have grown: one run per chain at a time
 * (later heads only raise the wanted length of the run under way), at most
 * `maxConcurrent` runs at once (the rest wait in order). A chain this node
 * does not hold yet starts with its genesis (`Replication.fetchGenesis`),
 * which is checked like any block 0 (ChainRules: the user's signature for
 * this key and position, a custodian the registry lists) before the node
 * becomes a replica; every later block is re-checked by `UserChain.ingest`.
 *
 * A chain that moved to a new custodian is followed here: a head of a
 * continuation core (a manifest with a prologue) whose migrate continues the
 * chain held here is fetched to its migrate and handed to the ledger's
 * `followContinuation`, which checks it whole before the user moves; its
 * genesis is checked against the chain's first core's key, which the
 * migrate names. A core the chain moved away from is closed at N and never
 * fetched again.
 *
 * Failures are counted, never thrown, and a chain whose run failed stays
 * in `lag()` until a later run reaches it. A chain whose ingest stopped at
 * REGISTRY_BEHIND (the node's registry is still arriving) is retried when
 * the registry changes (`retryStalled`), and so is a continuation of a
 * continuation of the chain held here (MOVED_AGAIN: the chain moved twice
 * or more while this node was away, or it took an older core of it), once
 * this node follows a move. A chain whose genesis was refused
 * is not fetched again (the last 4,096 such keys are remembered), so heads
 * of a core that is no healthchain chain cost one fetch, not one per head.
 *
 * Bounded against made-up cores: any member can send valid heads of
 * Hypercores it made up, each of a chain not held here. Chains held here
 * are queued ahead of chains not held (their fetches never wait behind a
 * flood of genesis fetches), and at most `maxUnheld` chains not held here
 * (default 1,024) are in the fetcher at once — queued, running, waiting for
 * the registry or remembered as behind after a failed run. A new one past
 * that takes the place of the oldest only remembered as behind (or waiting
 * for the registry), else it is dropped; both are counted (`stats.dropped`).
 * A chain dropped is fetched at its next head, or at the next
 * reconciliation that brings its head. So the maps hold at most the held
 * chains behind plus `maxUnheld` others, and `lag()` counts at most
 * `maxUnheld` chains not held.
 */
import { CoreError, bytesToHex, equal, fromHex, type Entry, type UserId } from '@healthchain/core'
import { LedgerError, type ClosedChain, type Ledger, type UserChain } from '@healthchain/ledger'
import { checkStart, type ChainStart, type StartCheck } from './chain-start.js'
import { NetError } from './errors.js'
import { OneAtATime } from './one-at-a-time.js'
import type { FetchOptions, Replication } from './replication.js'

export interface ChainFetcherComponents {
  readonly ledger: Ledger
  readonly replication: Replication
}

const MAX_REFUSED = 4096

/** Chains not held here in the fetcher at once by default. */
export const DEFAULT_MAX_UNHELD_FETCHES = 1024

export interface ChainFetcherInit {
  /** Runs at once; default 8. */
  readonly maxConcurrent?: number
  /** Per fetch (genesis, or blocks up to the wanted length); default 10 s. */
  readonly timeoutMs?: number
  /** Chains not held here queued, running or remembered as behind at once; default 1,024. */
  readonly maxUnheld?: number
  /** Whether a chain may be fetched now (false for a forked chain). */
  readonly mayFetch?: (keyHex: string) => boolean
  /** After every fetch that ingested: the chain as it now is here. */
  readonly onFetched?: (chain: UserChain) => Promise<void>
  /**
   * Whether a chain of a user held nowhere here becomes a replica (default
   * true); when false, a chain not held is fetched only to its start, to
   * learn whether it continues a chain held here.
   */
  readonly takeNew?: boolean
  /** After the user's chain here moved to a continuation (`from` is the key it had). */
  readonly onFollowed?: (user: UserId, from: Uint8Array, chain: UserChain) => Promise<void>
  /** A second continuation (`key`, its `migrate`) of a core the chain already moved from here (`closed`): the user's two migrates. */
  readonly onSecondMove?: (closed: ClosedChain, key: Uint8Array, migrate: Entry) => Promise<void>
}

type FetchedChain = Awaited<ReturnType<Replication['fetchChain']>>

export interface FetchStats {
  /** Fetches that completed and ingested every block they brought. */
  fetched: number
  /** Fetches that failed (no peer, timeout, a block refused by the rules, a bad genesis…), by code. */
  readonly failed: Map<string, number>
  /** Chains not held here not taken in, or forgotten as behind, to stay within `maxUnheld`. */
  dropped: number
  /** Continuations followed: a user's chain here moved to its new custodian's core. */
  followed: number
}

/** One chain behind: its key (hex) and the blocks it lacked when asked for. */
export interface ChainBehind {
  readonly keyHex: string
  readonly blocks: number
}

export interface ReplicationLag {
  readonly chainsBehind: number
  readonly blocksBehind: number
}

export class ChainFetcher {
  private readonly ledger: Ledger
  private readonly replication: Replication
  private readonly maxConcurrent: number
  private readonly timeoutMs: number
  private readonly mayFetch: (keyHex: string) => boolean
  private readonly onFetched: (chain: UserChain) => Promise<void>
  private readonly takeNew: boolean
  private readonly onFollowed: (user: UserId, from: Uint8Array, chain: UserChain) => Promise<void>
  private readonly onSecondMove: (closed: ClosedChain, key: Uint8Array, migrate: Entry) => Promise<void>
  /** The length wanted for each chain with a run queued or under way. */
  private readonly wanted = new Map<string, number>()
  /** The verified length each wanted (or stalled) chain had when it was asked for: what `lag()` counts from. */
  private readonly had = new Map<string, number>()
  /** Chains held here waiting for a run, then chains not held (taken only when no held one waits). */
  private readonly queue: string[] = []
  private readonly unheldQueue: string[] = []
  private readonly maxUnheld: number
  /** Chains not held here (when first wanted) in `wanted`, `stalled` or `failedBehind`, oldest first. */
  private readonly unheld = new Set<string>()
  private readonly running = new Map<string, Promise<void>>()
  /** Chains whose last ingest stopped at REGISTRY_BEHIND, with the length wanted. */
  private readonly stalled = new Map<string, number>()
  /**
   * Chains whose last run failed (no peer, a timeout, a refused block), with
   * the length wanted: still behind, and reported so (`lag()`), until a
   * later run — the next head, or heads reconciliation — reaches it.
   */
  private readonly failedBehind = new Map<string, number>()
  /** Chains whose genesis was refused, oldest first. */
  private readonly refused = new Set<string>()
  /** Takes in chains not held here one user at a time (`takeIn`). */
  private readonly byUser = new OneAtATime<UserId>()
  private readonly controller = new AbortController()
  readonly stats: FetchStats = { fetched: 0, failed: new Map(), dropped: 0, followed: 0 }

  constructor (components: ChainFetcherComponents, init: ChainFetcherInit = {}) {
    this.ledger = components.ledger
    this.replication = components.replication
    this.maxConcurrent = init.maxConcurrent ?? 8
    this.maxUnheld = init.maxUnheld ?? DEFAULT_MAX_UNHELD_FETCHES
    if (!Number.isSafeInteger(this.maxUnheld) || this.maxUnheld < 0) throw new NetError('INVALID_FIELD', 'maxUnheldFetches is a whole number, 0 or more', { field: 'maxUnheldFetches' })
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.mayFetch = init.mayFetch ?? (() => true)
    this.onFetched = init.onFetched ?? (async () => {})
    this.takeNew = init.takeNew ?? true
    this.onFollowed = init.onFollowed ?? (async () => {})
    this.onSecondMove = init.onSecondMove ?? (async () => {})
  }

  /** Chains with a run queued or under way. */
  get pending (): number { return this.wanted.size }

  /** Whether the chain is asked for, waiting for the registry, or its last run failed: behind, as far as this node knows. */
  isBehind (keyHex: string): boolean {
    return this.wanted.has(keyHex) || this.stalled.has(keyHex) || this.failedBehind.has(keyHex)
  }

  /** The length the chain was asked for (queued, under way, waiting for the registry, or its last run failed), if any. */
  wantedLength (keyHex: string): number | undefined {
    const lengths = [this.wanted.get(keyHex), this.stalled.get(keyHex), this.failedBehind.get(keyHex)].filter((l) => l !== undefined)
    return lengths.length === 0 ? undefined : Math.max(...lengths)
  }

  /** Chains asked for (queued, under way, waiting for the registry, or whose last run failed) and the blocks they lacked when asked for. */
  lag (): ReplicationLag {
    const behind = this.behind()
    return { chainsBehind: behind.length, blocksBehind: behind.reduce((sum, b) => sum + b.blocks, 0) }
  }

  /** The chains `lag()` counts, each with the blocks it lacked when asked for: O(chains behind). */
  behind (): ChainBehind[] {
    const behind = new Map([...this.failedBehind, ...this.stalled, ...this.wanted])
    return [...behind].map(([keyHex, length]) => ({ keyHex, blocks: Math.max(0, length - (this.had.get(keyHex) ?? 0)) }))
  }

  /** Asks for the chain with this key up to `length` blocks; `have` is the verified length held now (0 if none). */
  want (keyHex: string, length: number, have?: number): void {
    if (this.controller.signal.aborted) return
    const key = fromHex(keyHex, 32, 'key')
    // A core the user's chain moved away from is closed at N: nothing under its key is fetched again.
    if (this.ledger.closedChain(key) !== undefined) return
    const before = this.wanted.get(keyHex)
    const held = this.ledger.userOfChain(key) !== undefined
    if (before === undefined && !held && !this.admitUnheld(keyHex)) return
    if (have !== undefined) this.had.set(keyHex, Math.max(have, this.had.get(keyHex) ?? 0))
    if (before !== undefined) {
      if (length > before) this.wanted.set(keyHex, length)
      return
    }
    this.wanted.set(keyHex, length)
    if (held) this.queue.push(keyHex)
    else this.unheldQueue.push(keyHex)
    this.pump()
  }

  /**
   * Makes room for a chain not held here: already counted, under the bound,
   * or in the place of the oldest not-held chain that is only remembered as
   * behind (or waiting for the registry). False (counted) when every place
   * is taken by a chain queued or running.
   */
  private admitUnheld (keyHex: string): boolean {
    if (this.unheld.has(keyHex)) return true
    if (this.unheld.size >= this.maxUnheld) {
      for (const old of this.unheld) {
        if (this.wanted.has(old)) continue
        this.failedBehind.delete(old)
        this.stalled.delete(old)
        this.had.delete(old)
        this.unheld.delete(old)
        this.stats.dropped++
        break
      }
    }
    if (this.unheld.size >= this.maxUnheld) {
      this.stats.dropped++
      return false
    }
    this.unheld.add(keyHex)
    return true
  }

  /** A chain no longer wanted, stalled or behind leaves the not-held count. */
  private forgetIfDone (keyHex: string): void {
    if (!this.wanted.has(keyHex) && !this.stalled.has(keyHex) && !this.failedBehind.has(keyHex)) this.unheld.delete(keyHex)
  }

  /** Tries again the chains whose ingest waited for the registry. */
  retryStalled (): void {
    const stalled = [...this.stalled]
    this.stalled.clear()
    for (const [keyHex, length] of stalled) {
      this.want(keyHex, length)
      this.forgetIfDone(keyHex)
    }
  }

  private pump (): void {
    while (this.running.size < this.maxConcurrent && this.queue.length + this.unheldQueue.length > 0) {
      const keyHex = this.queue.shift() ?? this.unheldQueue.shift()!
      const run = this.run(keyHex).then((reached) => {
        const wanted = this.wanted.get(keyHex)!
        this.running.delete(keyHex)
        this.wanted.delete(keyHex)
        if (reached !== undefined) this.had.set(keyHex, reached)
        this.noteBehind(keyHex, reached, wanted)
        if (!this.stalled.has(keyHex) && !this.failedBehind.has(keyHex) && (reached === undefined || reached >= wanted)) this.had.delete(keyHex)
        // A head that arrived as the run ended: go again (a failed run waits for the next head instead).
        if (reached !== undefined && reached < wanted) this.want(keyHex, wanted)
        this.forgetIfDone(keyHex)
        this.pump()
      })
      this.running.set(keyHex, run)
    }
  }

  /** Keeps a chain whose run failed counted as behind; forgets it once a run reaches what was wanted. */
  private noteBehind (keyHex: string, reached: number | undefined, wanted: number): void {
    const before = this.failedBehind.get(keyHex)
    if (reached === undefined) {
      // Not a failure to report: the registry is still arriving (stalled), the chain is none of ours (refused), it is forked, or we stopped.
      const deliberate = this.stalled.has(keyHex) || this.refused.has(keyHex) || !this.mayFetch(keyHex) || this.controller.signal.aborted ||
        this.ledger.closedChain(fromHex(keyHex, 32, 'key')) !== undefined
      if (!deliberate) this.failedBehind.set(keyHex, Math.max(wanted, before ?? 0))
    } else if (before !== undefined && reached >= before) {
      this.failedBehind.delete(keyHex)
    }
  }

  private failed (code: string): void {
    this.stats.failed.set(code, (this.stats.failed.get(code) ?? 0) + 1)
  }

  /**
   * Fetches until the chain reaches the wanted length (which may grow
   * meanwhile): the verified length reached, or undefined if a fetch failed
   * or the chain may not be fetched. Never throws.
   */
  private async run (keyHex: string): Promise<number | undefined> {
    const key = fromHex(keyHex, 32, 'key')
    const signal = this.controller.signal
    try {
      for (;;) {
        const length = this.wanted.get(keyHex)!
        if (signal.aborted || this.refused.has(keyHex) || !this.mayFetch(keyHex) || this.ledger.closedChain(key) !== undefined) return undefined
        const opts = { length, timeoutMs: this.timeoutMs, signal }
        const held = this.ledger.userOfChain(key)
        const fetched = held !== undefined ? await this.replication.fetchChain(held, key, opts) : await this.takeIn(key, opts)
        if (fetched === undefined) return undefined
        const { chain, ingest } = fetched
        await this.onFetched(chain)
        if (ingest.problem !== undefined) {
          this.failed(ingest.problem.code)
          if (ingest.problem.code === 'REGISTRY_BEHIND') this.stalled.set(keyHex, Math.max(length, this.wanted.get(keyHex)!))
          return undefined
        }
        this.stats.fetched++
        if (chain.verifiedLength >= this.wanted.get(keyHex)!) return chain.verifiedLength
      }
    } catch (err) {
      if (!signal.aborted) this.failed(err instanceof NetError || err instanceof LedgerError || err instanceof CoreError ? err.code : 'INTERNAL')
      return undefined
    }
  }

  /**
   * A chain not held here: its start, then, one user at a time, what to do
   * with it and its first fetch. A node that joins (or comes back empty)
   * hears the heads of a chain's old core and its continuation at once; the
   * second of the two fetches waits until the first took the user in, then
   * follows it to the continuation (or leaves the older core), instead of
   * failing on a user whose chain here has another key until heads come again.
   */
  private async takeIn (key: Uint8Array, opts: FetchOptions & { length: number }): Promise<FetchedChain | undefined> {
    const start = await this.startOf(key)
    if (start === undefined) return undefined
    return await this.byUser.run(start.user, async () => {
      const user = await this.userFromStart(key, start)
      return user === undefined ? undefined : await this.replication.fetchChain(user, key, opts)
    })
  }

  /** The checked start of a chain not held here (chain-start.ts); undefined (counted) if not acceptable. */
  private async startOf (key: Uint8Array): Promise<ChainStart | undefined> {
    const keyHex = bytesToHex(key)
    let check: StartCheck
    try {
      check = await checkStart(this.ledger, this.replication, key, { timeoutMs: this.timeoutMs, signal: this.controller.signal })
    } catch (err) {
      // Block 0 is not an entry, or the block at the prologue is no migrate that fits the core.
      if (err instanceof CoreError || (err instanceof LedgerError && err.code === 'INVALID_FIELD')) this.refuse(keyHex)
      throw err
    }
    if ('start' in check) return check.start
    this.failed(check.refused)
    if (check.refused === 'REGISTRY_BEHIND') this.stalled.set(keyHex, this.wanted.get(keyHex) ?? 1)
    else this.refuse(keyHex)
    return undefined
  }

  /**
   * The user of a chain not held here, from its checked start: undefined
   * (counted) when the node holds another chain of that user that this one
   * does not continue, or takes no new chains; undefined for a core the
   * chain held here moved from. A continuation of the chain held here is
   * fetched to its migrate and followed (`followContinuation`: checked
   * whole) before the user is answered, so the rest of the run fetches it as
   * the user's chain; one that fails is refused and the held chain stays.
   */
  private async userFromStart (key: Uint8Array, { user, layout, migrate }: ChainStart): Promise<UserId | undefined> {
    const keyHex = bytesToHex(key)
    if (!this.ledger.hasChain(user)) {
      if (this.takeNew) return user
      // Fetched only to learn whether it continues a chain held here: it does not.
      this.refuse(keyHex)
      return undefined
    }
    const held = await this.ledger.chain(user)
    // A core the chain held here moved from (its continuation was taken in first): nothing of it is fetched.
    if (held.layout.segments.slice(0, -1).some((segment) => equal(segment.key, key))) {
      this.refuse(keyHex)
      return undefined
    }
    const from = layout.segments.at(-2)
    const closed = from === undefined ? undefined : this.ledger.closedChain(from.key)
    if (layout.prologue !== undefined && closed !== undefined && closed.length === layout.prologue.length && !equal(closed.successor, key)) {
      // A second continuation from the head the chain already moved from here: the user signed two migrates. The first stands.
      this.failed('ALREADY_MOVED')
      this.refuse(keyHex)
      if (migrate !== undefined) await this.onSecondMove(closed, key, migrate).catch(() => {})
      return undefined
    }
    // A later continuation of the chain held here (it moved more than once since): followed one move at a time, so it waits
    // until this node has followed the moves between (their heads reach it too), then is tried again.
    if (from !== undefined && !equal(from.key, held.key) && layout.segments.slice(0, -2).some((segment) => equal(segment.key, held.key))) {
      this.failed('MOVED_AGAIN')
      this.stalled.set(keyHex, this.wanted.get(keyHex) ?? 1)
      return undefined
    }
    // The ledger keeps one chain per user: a second chain of the same user is taken only as the continuation of the one held here.
    if (layout.prologue === undefined || from === undefined || !equal(from.key, held.key)) {
      this.failed('OTHER_CHAIN_OF_USER')
      this.refuse(keyHex)
      return undefined
    }
    // Blocks below N come from the core held here (a block erased after the move is served by nobody); the rest from peers.
    // A copy that fails (a held core that does not match) changes nothing: the follow below checks the continuation whole.
    await this.ledger.prefillContinuation(user, key).catch(() => false)
    await this.replication.fetchBlocks(key, layout.prologue.length + 1, { timeoutMs: this.timeoutMs, signal: this.controller.signal })
    let moved: UserChain | undefined
    try {
      moved = await this.ledger.followContinuation(user, key)
    } catch (err) {
      // The continuation fails the rules (or its custodian is not active here): it never replaces the chain held here.
      if (err instanceof LedgerError && err.code !== 'REGISTRY_BEHIND') this.refuse(keyHex)
      throw err
    }
    if (moved === undefined) throw new NetError('NO_PEER', `no peer served the continuation to its migrate at ${layout.prologue.length}`)
    this.stats.followed++
    await this.onFollowed(user, held.key, moved)
    // A later continuation that waited for this move may follow now.
    queueMicrotask(() => { this.retryStalled() })
    return user
  }

  private refuse (keyHex: string): void {
    this.refused.add(keyHex)
    if (this.refused.size > MAX_REFUSED) this.refused.delete(this.refused.values().next().value!)
  }

  /** Ends every run (fetches under way end with STOPPED) and waits for them. */
  async stop (): Promise<void> {
    this.controller.abort(new NetError('STOPPED', 'the chain fetcher stopped'))
    this.queue.length = 0
    this.unheldQueue.length = 0
    await Promise.allSettled([...this.running.values()])
  }
}
