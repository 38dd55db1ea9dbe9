/**
 * DEV DOCS — heads gossip, reconciliation and fork proofs.
 *
 * Announce. After a local append on a chain this node is custodian of, or
 * an enrolment (`announce(user)`, called from the ledger's change event,
 * `Ledger.onChange`, which NetworkNode follows), the chain's signed head
 * (`headOf`) is queued; the queue is flushed every `flushMs` (10 ms) or at
 * 256 heads, as one HeadsAnnouncement on gossipsub `/healthchain/heads/1`.
 *
 * Seed. At start the head log gets the stored signed head of every chain
 * held here (head-seeding.ts), read from storage in pages without opening
 * a chain, in the background; heads-sync answers wait for it, and this
 * node's own reconciliations start once it is done. So after a restart,
 * a crash between an append and its announcement included, peers learn
 * every chain this node holds at their next reconciliation with it.
 *
 * Receive (gossip, or heads-sync pages: `receive(heads)`; heads-intake.ts).
 * A head that is, byte for byte, the one logged for its chain, with nothing
 * pending for the chain here, is counted (`stats.known`) and dropped: it was
 * checked and acted on when logged. Each other head is verified on its own
 * (`verifyHead`; failures counted in `stats.invalid`), then observed, one at
 * a time (a serial queue). Gossip is checked earlier,
 * by gossipsub topic validators: an announcement that does not decode or
 * holds a head whose signature fails, and a fork proof (either kind) that
 * does not verify, are rejected whole — never delivered here, never relayed
 * to other peers (gossipsub forwards only what its validator accepted). The
 * heads a validator accepted are handed on without verifying them twice.
 *   - fork checks. Any two signed heads of one chain that cannot both be
 *     true are a fork, whatever their lengths:
 *       · against the chain's newest head (HeadLog) and the first head seen
 *         at that length (RecentHeads): two roots at one length →
 *         `makeForkProof` (version 1);
 *       · for a chain held here, against this node's own copy
 *         (own-copy-proof.ts): a peer's head no longer than the copy whose
 *         root the copy's tree contradicts → a version 1 proof, or a
 *         consistency proof (version 2) with nodes from the copy's tree; a
 *         peer's head longer than the copy waits (DeferredHeads) until a
 *         fetch brings the copy that far — the copy's own head, observed
 *         after each fetch, is when it is compared;
 *       · Hypercore's own `conflict` (ConflictWatch, on every chain the
 *         ledger opens): the peer's head and nodes it carries, or this
 *         node's tree, make the proof;
 *     a proof is stored (ForkRegistry, persisted), published on `/healthchain/forks/1`,
 *     and the chain is flagged (`isForked`) — heads-forks.ts;
 *   - the head log keeps the newest head per chain (served by heads-sync);
 *   - fetch (ChainFetcher), never for a forked chain: a chain held here (not
 *     as custodian) whose verified length is shorter — or shorter than its
 *     own seeded head, where that head is ahead of the blocks held (a fetch
 *     a crash cut short); a chain not held, when `replicateAll` (full
 *     replicas: the default) — via its genesis. After a fetch, the
 *     replica's own head is observed too. A peer's head no further along
 *     than the one logged, for a held chain with nothing pending, opens
 *     nothing: after a restart a peer's heads-sync brings one head per
 *     chain it holds, and opening each would cost 20–30 KB and a read of
 *     its blocks.
 *
 * Reconcile. Whenever a replication channel with an admitted peer opens,
 * and every `reconcileIntervalMs` (30 s) after, HeadsReconciler pulls the
 * heads that peer logged since the last cursor, then the fork proofs it
 * recorded since the last forks cursor (heads-reconcile.ts), and hands them
 * to `receive` and to the fork checks. A fork's two heads are also logged
 * under their own ids (`<key>/fork/a|b`), so heads-sync carries them as
 * evidence to nodes that can compare them with a copy of their own.
 *
 * Memory. Any admitted member can send validly signed heads (and fork
 * proofs) of Hypercores it made up, so nothing a peer's head creates may
 * grow without bound: see HeadsBounds (heads-types.ts) for every bound.
 */
import { bytesToHex, equal, fromHex, type UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { makeClosedCoreProof, makeTwoMovesProof } from './move-proofs.js'
import { ChainFetcher, type ChainBehind, type ReplicationLag } from './chain-fetcher.js'
import { ConflictWatch } from './conflict-watch.js'
import { DEFAULT_MAX_UNHELD_HEADS, HeadLog, RecentHeads } from './head-log.js'
import { seedHeadLog } from './head-seeding.js'
import { HeadsAnnouncer } from './heads-announcer.js'
import { HeadForks } from './heads-forks.js'
import { HeadsIntake } from './heads-intake.js'
import { FORKS_TOPIC, listenToHeadsGossip, onHeadsSubscriber } from './heads-gossip.js'
import { HeadsReconciler } from './heads-reconcile.js'
import { KnownForks } from './known-forks.js'
import type { ForkedChain, HeadsServiceComponents, HeadsServiceInit, HeadsStats } from './heads-types.js'
import type { Host } from './host.js'
import { OwnCopyCheck } from './own-copy-proof.js'
import type { Replication } from './replication.js'
import type { AnyForkProof } from './wire/any-fork-proof.js'
import { makeForkProof } from './wire/fork-proof.js'
import { headOf, type SignedHead } from './wire/head.js'
import { headOfMigrate } from './wire/move-fork-proof.js'
import { HEADS_TOPIC } from './wire/heads-announcement.js'

export { FORKS_TOPIC } from './heads-gossip.js'

export type { DroppedStats, ForkedChain, HeadsBounds, HeadsServiceComponents, HeadsServiceInit, HeadsStats } from './heads-types.js'

export class HeadsService {
  private readonly host: Host
  private readonly ledger: Ledger
  private readonly replication: Replication
  private readonly replicateAll: boolean
  private readonly reconcileIntervalMs: number
  readonly log: HeadLog
  private readonly recent: RecentHeads
  private readonly fetcher: ChainFetcher
  private readonly conflictWatch: ConflictWatch
  private readonly reconciler: HeadsReconciler
  /** Heads and fork proofs from peers, checked before they are observed or recorded (heads-intake.ts). */
  private readonly intake: HeadsIntake
  /** Fork proofs known here: persisted for held chains, bounded and in memory for others (known-forks.ts). */
  private readonly knownForks: KnownForks
  /** Records fork proofs: kept, published, their heads logged as evidence (heads-forks.ts). */
  private readonly forkRecords: HeadForks
  /** Holds heads against this node's own copy of their chain, now or once a fetch brings it that far (own-copy-proof.ts). */
  private readonly ownCopy: OwnCopyCheck
  /**
   * Chains held here whose logged head is this node's own and longer than
   * what it has verified, with that length: seeded from storage ahead of the
   * blocks held (head-seeding.ts), or a replica's stored head after a fetch
   * for less (noteOwnReplicaHead). A peer's head for one is looked at in
   * full (the chain opened and fetched up to that length). So, for every
   * held replica chain, a logged head is verified here, or the fetcher has
   * it as behind, or it is in here — what lets the intake (heads-intake.ts)
   * and `observe` take a head no further along than the logged one as
   * nothing new. One entry per such chain.
   */
  private readonly incomplete = new Map<string, number>()
  /** Resolves once the head log holds every held chain's stored head (or seeding was cut short by stop()). */
  readonly seeded: Promise<void>
  private markSeeded!: () => void
  private seeding: Promise<void> = Promise.resolve()
  private readonly controller = new AbortController()
  private readonly announcer: HeadsAnnouncer
  /** Observations run one at a time, in arrival order. */
  private processing: Promise<void> = Promise.resolve()
  private readonly cleanups: Array<() => void> = []
  private readonly reconciledListeners = new Set<(peer: string) => void>()
  /** No more announcements (stop() began); `stopped`: no more observations. */
  private closing = false
  private stopped = false
  readonly stats: HeadsStats

  constructor (components: HeadsServiceComponents, init: HeadsServiceInit = {}) {
    this.host = components.host
    this.ledger = components.ledger
    this.replication = components.replication
    this.replicateAll = init.replicateAll ?? true
    this.reconcileIntervalMs = init.reconcileIntervalMs ?? 30_000
    this.seeded = new Promise((resolve) => { this.markSeeded = resolve })
    this.log = new HeadLog(undefined, {
      maxUnheld: init.maxUnheldHeads ?? DEFAULT_MAX_UNHELD_HEADS,
      isHeld: (id) => this.holds(id.slice(0, 64))
    })
    this.recent = new RecentHeads({ held: init.maxRecentHeld, other: init.maxRecentOther })
    this.knownForks = new KnownForks(init.maxUnheldForks)
    this.fetcher = new ChainFetcher(components, {
      maxConcurrent: init.maxConcurrentFetches,
      maxUnheld: init.maxUnheldFetches,
      timeoutMs: init.timeoutMs,
      mayFetch: (keyHex) => !this.isForkedHex(keyHex),
      onFetched: async (chain) => { await this.observeLocal(chain) },
      takeNew: this.replicateAll,
      onFollowed: async (_user, from, chain) => {
        await this.serially(async () => { await this.closeLogged(from) })
        await this.observeLocal(chain)
      },
      onSecondMove: async (closed, key, migrate) => {
        const proof = await makeTwoMovesProof(this.ledger, closed, key, migrate)
        if (proof !== undefined) await this.serially(async () => { await this.forkRecords.record(proof) })
      }
    })
    this.reconciler = new HeadsReconciler({
      host: components.host,
      gate: components.gate,
      log: this.log,
      forks: { since: (cursor, limit) => this.knownForks.since(cursor, limit) }
    }, {
      timeoutMs: init.timeoutMs,
      ready: this.seeded,
      onHeads: async (heads) => { await this.receive(heads) },
      onProofs: async (proofs) => { await this.intake.receiveProofs(proofs) },
      onSynced: (peer) => { for (const listener of this.reconciledListeners) listener(peer) }
    })
    this.conflictWatch = new ConflictWatch({ ledger: this.ledger }, {
      onProof: async (proof) => { await this.serially(async () => { await this.forkRecords.record(proof) }) }
    })
    const { log, recent, fetcher, knownForks } = this
    this.stats = {
      received: 0,
      invalid: 0,
      malformed: 0,
      announced: 0,
      publishFailed: 0,
      forks: 0,
      skippedForked: 0,
      closedBeyond: 0,
      errors: 0,
      known: 0,
      seed: { seeded: 0, failedPages: 0 },
      fetch: this.fetcher.stats,
      sync: this.reconciler.stats,
      conflicts: this.conflictWatch.stats,
      // Read where they are counted; enumerable, so a status serialised as JSON carries them.
      dropped: {
        get log () { return log.dropped },
        get recent () { return recent.dropped },
        get fetches () { return fetcher.stats.dropped },
        get forks () { return knownForks.droppedUnheld }
      }
    }
    this.forkRecords = new HeadForks({
      ledger: this.ledger,
      knownForks,
      log,
      recent,
      stats: this.stats,
      publish: async (topic, data) => await this.host.services.pubsub.publish(topic, data),
      stopped: () => this.stopped
    })
    this.ownCopy = new OwnCopyCheck(this.ledger.crypto, {
      onProof: async (proof) => { await this.forkRecords.record(proof) },
      onError: () => { this.stats.errors++ }
    })
    this.intake = new HeadsIntake({
      crypto: this.ledger.crypto,
      log: this.log,
      stats: this.stats,
      pending: (keyHex) => this.incomplete.has(keyHex) || this.fetcher.isBehind(keyHex),
      stopped: () => this.stopped,
      observe: async (head) => { await this.serially(async () => { await this.observe(head, true) }) },
      record: async (proof) => { await this.serially(async () => { await this.forkRecords.record(proof) }) }
    })
    this.announcer = new HeadsAnnouncer({
      ledger: this.ledger,
      publish: async (data) => await this.host.services.pubsub.publish(HEADS_TOPIC, data),
      flushMs: init.flushMs ?? 10,
      stats: this.stats,
      observeOwn: async (head) => { await this.serially(async () => { await this.observe(head, false) }) }
    })
    this.cleanups.push(components.gate.onChange(() => { this.fetcher.retryStalled() }))
    // A peer whose subscription just arrived missed what was published before it: the recent heads go out again.
    this.cleanups.push(onHeadsSubscriber(components.host.services.pubsub, (peer) => components.gate.admits(peer), () => { this.announcer.requestReannounce() }))
    // Every chain the ledger opens from now on (and those open already) has its `conflict` heard.
    this.conflictWatch.start()
  }

  async start (): Promise<void> {
    for (const proof of await this.knownForks.open(this.ledger, this.ledger.crypto)) this.forkRecords.logEvidence(proof)
    // Gossip comes in checked by gossipsub's validators (heads-gossip.ts).
    this.cleanups.push(listenToHeadsGossip({
      pubsub: this.host.services.pubsub,
      crypto: this.ledger.crypto,
      stats: this.stats,
      onHeads: (heads) => { void this.receive(heads, { verified: true }) },
      onForkProof: (proof) => { void this.serially(async () => { await this.forkRecords.record(proof, true) }) }
    }))
    // Answering from now on: a peer that asks while the log is seeded waits for it (heads-reconcile.ts `ready`).
    await this.reconciler.start()
    this.seeding = this.seed()
  }

  /**
   * Seeds the head log from storage (head-seeding.ts), in the background: a
   * node holding millions of chains takes seconds to read every head, and
   * appends need not wait for that. Only then does this node reconcile with
   * peers (on every new channel, with the ones open already, and every
   * `reconcileIntervalMs`): their heads meet a complete log, so a peer's
   * head for a chain that is no further along than the one logged is
   * answered without opening the chain (observe).
   */
  private async seed (): Promise<void> {
    await seedHeadLog(this.ledger, this.log, this.stats.seed, {
      signal: this.controller.signal,
      incomplete: (keyHex, length) => { this.incomplete.set(keyHex, length) }
    })
    this.markSeeded()
    if (this.closing) return
    this.cleanups.push(this.replication.onChannel((peer) => { this.reconciler.reconcile(peer) }))
    for (const peer of this.replication.peers) this.reconciler.reconcile(peer)
    if (this.reconcileIntervalMs > 0) {
      const timer = setInterval(() => { for (const peer of this.replication.peers) this.reconciler.reconcile(peer) }, this.reconcileIntervalMs)
      timer.unref()
      this.cleanups.push(() => { clearInterval(timer) })
    }
  }

  // ------------------------------------------------------------ announce

  /** Queues the head of `user`'s chain for publication, if this node is its custodian (checked at flush; heads-announcer.ts). */
  announce (user: UserId): void { this.announcer.announce(user) }

  // ------------------------------------------------------------ receive

  /** Heads from a peer (gossip or sync): each verified (unless a gossip validator already did), then observed (heads-intake.ts). Never throws. */
  async receive (heads: readonly SignedHead[], opts: { verified?: boolean } = {}): Promise<void> {
    await this.intake.receive(heads, opts)
  }

  private async serially (work: () => Promise<void>): Promise<void> {
    const next = this.processing.then(async () => { if (!this.stopped) await work() })
    this.processing = next.catch(() => { this.stats.errors++ })
    await this.processing
  }

  /**
   * A core the chain here just moved from: a head of it beyond N logged
   * before the move reached this node (the old custodian writing after the
   * move, heard of first) is reported as such, and the log goes back to the
   * head at N, so heads-sync serves nothing of the closed core beyond it.
   */
  private async closeLogged (from: Uint8Array): Promise<void> {
    const keyHex = bytesToHex(from)
    const closed = this.ledger.closedChain(from)
    const logged = this.log.get(keyHex)
    if (closed === undefined || logged === undefined || logged.length <= closed.length) return
    this.stats.closedBeyond++
    const migrate = await (await this.ledger.chain(closed.user)).get(closed.length).catch(() => null)
    if (migrate?.type === 'migrate') this.log.put(keyHex, headOfMigrate(migrate.plain))
    const proof = await makeClosedCoreProof(this.ledger, logged, closed)
    if (proof !== undefined) await this.forkRecords.record(proof)
  }

  /** A verified head: fork check, head log, and (for a peer's head) fetch. */
  private async observe (head: SignedHead, fromPeer: boolean): Promise<void> {
    const keyHex = bytesToHex(head.key)
    const closed = this.ledger.closedChain(head.key)
    if (closed !== undefined) {
      // The chain moved on from this core at N: a head beyond N is its old custodian writing after the move, reported, never fetched.
      if (head.length <= closed.length) return
      this.stats.closedBeyond++
      if (fromPeer && this.isForkedHex(keyHex)) return
      const proof = await makeClosedCoreProof(this.ledger, head, closed)
      if (proof !== undefined) await this.forkRecords.record(proof)
      return
    }
    const held = this.ledger.userOfChain(head.key)
    const logged = this.log.get(keyHex)
    // A peer's head no further along than the one logged, for a chain with nothing pending here, can change
    // nothing but the fork check: the chain is not opened (20–30 KB and a read of its blocks), as after a
    // restart a peer's heads-sync brings one head per chain it holds.
    // A shorter head is news unless it is the head first seen at its length: it is held against this node's copy (a fork at two lengths).
    const seenAtLength = this.recent.get(keyHex, head.length)
    const shorterUnseen = logged !== undefined && head.length < logged.length && (seenAtLength === undefined || !equal(seenAtLength.root, head.root))
    const news = !fromPeer || logged === undefined || head.length > logged.length || shorterUnseen ||
      this.incomplete.has(keyHex) || this.fetcher.isBehind(keyHex)
    let chain: UserChain | undefined
    // A chain that became held with a fork proof kept as not held: the proof now goes to the persisted registry.
    if (held !== undefined && this.knownForks.hasUnheld(keyHex)) await this.forkRecords.record(this.knownForks.takeUnheld(keyHex)!)
    if (held !== undefined && news) {
      chain = await this.ledger.chain(held)
      // A chain held here and not logged yet (a page the seeding could not read, or seeding still under way): this node's own head comes first.
      if (fromPeer && this.log.get(keyHex) === undefined && chain.length > 0) {
        const own = await headOf(chain, this.ledger.crypto).catch(() => undefined)
        if (own !== undefined) await this.observe(own, false)
      }
    }
    for (const seen of [this.log.get(keyHex), this.recent.get(keyHex, head.length)]) {
      if (seen !== undefined && seen.length === head.length && !equal(seen.root, head.root)) {
        await this.forkRecords.record(makeForkProof(seen, head, this.ledger.crypto))
        break
      }
    }
    if (chain !== undefined && !this.isForkedHex(keyHex)) await this.ownCopy.hold(chain, keyHex, head, fromPeer)
    this.recent.remember(keyHex, head, held !== undefined)
    const latest = this.log.get(keyHex)
    if (latest === undefined || head.length > latest.length) this.log.put(keyHex, head)
    if (!fromPeer) {
      if (chain !== undefined && !chain.writable) this.noteOwnReplicaHead(keyHex, head.length, chain.verifiedLength)
      return
    }
    if (this.isForkedHex(keyHex)) {
      this.stats.skippedForked++
      return
    }
    if (held === undefined) {
      // A continuation core's head may be of a chain held here under its older key: its start says (chain-fetcher.ts).
      if (this.replicateAll || head.prologue !== undefined) this.fetcher.want(keyHex, head.length, 0)
    } else if (chain !== undefined) {
      // Seeded with a stored head ahead of its blocks (a fetch the crash cut short): fetch up to that head too.
      const stored = this.incomplete.get(keyHex) ?? 0
      this.incomplete.delete(keyHex)
      const wanted = Math.max(head.length, stored)
      // A custodian's own chain too: a peer can hold a longer head of it only if this node signed it and lost it since (a
      // restore from a backup); the blocks come back from the peer and are checked like a replica's.
      if (chain.verifiedLength < wanted) this.fetcher.want(keyHex, wanted, chain.verifiedLength)
    }
  }

  /**
   * A replica's own stored head can be ahead of what it has verified:
   * Hypercore stores a longer signed head (an upgrade) before its blocks
   * arrive, e.g. when the custodian appended during a fetch for less. Such a
   * head, once logged, must not make a peer's equal head look like nothing
   * new, so the chain is kept in `incomplete` until a peer's head for it is
   * looked at in full, or this node's own head shows it verified.
   */
  private noteOwnReplicaHead (keyHex: string, length: number, verified: number): void {
    const noted = this.incomplete.get(keyHex)
    if (verified < length) this.incomplete.set(keyHex, Math.max(length, noted ?? 0))
    else if (noted !== undefined && noted <= verified) this.incomplete.delete(keyHex)
  }

  /** After a fetch: the replica's own head, as stored. */
  private async observeLocal (chain: UserChain): Promise<void> {
    if (chain.length === 0) return
    const head = await headOf(chain, this.ledger.crypto).catch(() => undefined)
    if (head !== undefined) await this.serially(async () => { await this.observe(head, false) })
  }

  // ------------------------------------------------------------ forks

  private isForkedHex (keyHex: string): boolean {
    return this.knownForks.has(keyHex)
  }

  /** Whether the chain with this key (hex) is held here, as custodian or replica. */
  private holds (keyHex: string): boolean {
    return this.ledger.userOfChain(fromHex(keyHex, 32, 'key')) !== undefined
  }

  /** Whether a fork proof for this chain is known here: its custodian signed two histories. */
  isForked (chainKey: Uint8Array): boolean { return this.isForkedHex(bytesToHex(chainKey)) }

  /** The fork proof of a chain (either kind), if one is known. */
  forkOf (chainKey: Uint8Array): AnyForkProof | undefined {
    return this.knownForks.get(bytesToHex(chainKey))
  }

  /** Every fork proof known here, one per chain: the persisted ones in the order they were recorded, then those of chains not held. */
  get forks (): AnyForkProof[] { return this.knownForks.list() }

  /** The forked chains, with the custodian to flag when this node holds the chain. */
  forkedChains (): ForkedChain[] {
    return this.knownForks.forkedChains()
  }

  /**
   * Calls `listener` with the peer id each time a reconciliation with it completes: every head it logged (and every fork
   * proof) has been observed here, so a longer head of a chain held here is being fetched by then. Returns an unsubscribe.
   */
  onReconciled (listener: (peer: string) => void): () => void {
    this.reconciledListeners.add(listener)
    return () => { this.reconciledListeners.delete(listener) }
  }

  /**
   * Blocks of the chain with this key (hex) that a peer's head says exist beyond `verified` (the length verified here):
   * the longest head logged, or the length a fetch (queued, running, failed, or cut short by a crash) was asked for.
   */
  behindBy (keyHex: string, verified: number): number {
    const wanted = Math.max(this.log.get(keyHex)?.length ?? 0, this.incomplete.get(keyHex) ?? 0, this.fetcher.wantedLength(keyHex) ?? 0)
    return Math.max(wanted - verified, 0)
  }

  /** Fetches queued or under way. */
  get pendingFetches (): number { return this.fetcher.pending }

  /** Chains for which a longer head was seen than this node has verified, and the blocks missing over them. */
  replicationLag (): ReplicationLag { return this.fetcher.lag() }

  /** The chains `replicationLag()` counts, one by one (key hex, blocks missing): O(chains behind), not O(chains held). */
  chainsBehind (): ChainBehind[] { return this.fetcher.behind() }

  async stop (): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.controller.abort()
    await this.announcer.close()
    await this.seeding
    this.markSeeded()
    this.stopped = true
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    const pubsub = this.host.services.pubsub
    for (const topic of [HEADS_TOPIC, FORKS_TOPIC]) {
      try { pubsub.unsubscribe(topic) } catch {}
    }
    await this.reconciler.stop()
    await this.fetcher.stop()
    await this.conflictWatch.stop()
    await this.processing
    await this.knownForks.close()
  }
}
