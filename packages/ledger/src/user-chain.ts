/**
 * One user's chain on disk: opened and folded from storage, appended to
 * through its queue (append-queue.ts: `append(entry, seq)` for an entry its
 * author signed for one position, `appendSigned(unsigned, signer)` for the
 * custodian's own writes), grown on a replica by `ingest()` of what
 * replication brought, read back with erased entries left out.
 */
import type Hypercore from 'hypercore'
import {
  bytesToHex, decodeEntry,
  type CryptoProvider, type RegistryState, type Entry, type EntryType, type SigningKeyPair, type UnsignedEntry, type UserId
} from '@healthchain/core'
import { AppendQueue, type AppendResult } from './append-queue.js'
import { ChainRules, type ChainUser } from './chain-rules.js'
import { DEFAULT_IDS_IN_MEMORY, IndexedIds } from './chain-ids.js'
import { describeSegments, firstCoreLayout, keyAt, layoutWhenArrived, readLayout, type ChainLayout } from './chain-segments.js'
import { LedgerError } from './errors.js'
import type { ErasedLeaves } from './erased-leaves.js'
import type { RegistryFeed } from './registry-feed.js'
import { clearBlocks, clearInEarlierCores, presentIn, type HeldCoreOpener } from './clear-blocks.js'
import { readConsistencyNodes } from './consistency.js'
import { RecentEntries } from './recent-entries.js'
import { downloadUnerased } from './download-unerased.js'
import { arrivedUntil, followArrivals, ingestBlocks } from './ingest-blocks.js'
import type { MerkleNode } from './merkle.js'
import { headInMemory, storedHead, storedTreeHash, writerHead, type StoredHead } from './tree-audit.js'
import { verifyChain, type ChainReport } from './verify-chain.js'
import type { VerifyPool } from './verify-pool.js'
import { readVerifiedLength, writeVerifiedLength } from './verified-mark.js'

/** Told when the chain grows: written here (`append`) or fetched and checked (`ingest`), with the length reached. */
export type ChainGrown = (kind: 'append' | 'ingest', length: number) => void

export type { AppendResult } from './append-queue.js'

export interface IngestResult {
  /** Positions checked and folded by this call. */
  readonly added: number
  /** The entry that failed, if one did; ingestion stops there. */
  readonly problem: { readonly seq: number, readonly code: string, readonly message: string } | undefined
}

export interface PositionedEntry {
  readonly seq: number
  readonly entry: Entry
}

/** A block as stored, not decoded yet (UserChain.readBlocks). */
export interface PositionedBlock {
  readonly seq: number
  readonly block: Uint8Array
}

export interface ReadQuery {
  /** First position, inclusive (default 1: after the genesis). */
  start?: number
  /** Last position, exclusive (default the chain's length). */
  end?: number
  /** Only these types. */
  types?: readonly EntryType[]
  /** Only entries with time >= since. */
  since?: number
  /** Only entries with time < until. */
  until?: number
}

/** A signed head with the tree hash it signs. */
export interface HeadWithRoot {
  readonly head: StoredHead
  readonly root: Uint8Array
}

/** What `UserChain.open` may be given besides the core and the registry. */
export interface ChainOpenOptions {
  /** The chain's segments, when the core cannot tell them yet (a new custodian's continuation before its migrate). */
  readonly layout?: ChainLayout
  /** Opens the chain's earlier cores held here. */
  readonly held?: HeldCoreOpener
  /** Verification workers for ingest; without, the calling thread checks every signature. */
  readonly pool?: VerifyPool
  /** The most entry ids kept in memory for the duplicate check (chain-ids.ts); more stay on disk. */
  readonly idsInMemory?: number
}

/** Reads a chain's core; set by UserChain's static block, so only this module can (see coreOf). */
let rawCore: (chain: UserChain) => Hypercore

/**
 * The Hypercore under a chain, for tests that write raw blocks or read its
 * storage (re-exported by `@healthchain/ledger/testing` only): the network and
 * the node go through UserChain's methods.
 */
export function coreOf (chain: UserChain): Hypercore {
  return rawCore(chain)
}

export class UserChain {
  /** Private: what the network needs of it has a method here (heads, proofs, fetching, conflicts). */
  readonly #core: Hypercore
  private readonly registry: RegistryFeed
  private readonly crypto: CryptoProvider
  private readonly erased: ErasedLeaves
  /** Replaced once, on a replica that opened before the core's manifest arrived (see ingestArrived). */
  private rules: ChainRules
  /** False while a replica waits for the manifest (and, for a continuation, its migrate) to know the chain's segments. */
  private layoutKnown = true
  private readonly appends: AppendQueue
  /** What this process appended last, for the reads that follow an append (recent-entries.ts). */
  private readonly recent = new RecentEntries()
  private ingesting: Promise<void> = Promise.resolve()
  /** Ingests queued or running. */
  private ingests = 0
  /** Holds taken by `hold()` and not released. */
  private holds = 0
  /** Fetches following arrivals (`ingestAsArriving`) and not stopped: while there is one, a transfer runs. */
  private followers = 0
  /** The verified length last recorded on disk (replicas only). */
  private marked = 0
  private readonly grown: ChainGrown
  /** Opens an earlier core of the chain held here, to clear the erased blocks it holds too. */
  private readonly held: HeldCoreOpener
  /** Where ingest verifies signatures besides the calling thread (none: the calling thread alone). */
  private readonly pool: VerifyPool | undefined
  /** The chain's entry ids: on disk, and in memory only the newest, at most a bound (chain-ids.ts). */
  private readonly ids: IndexedIds

  static {
    rawCore = (chain) => chain.#core
  }

  private constructor (
    core: Hypercore, registry: RegistryFeed, erased: ErasedLeaves, crypto: CryptoProvider, grown: ChainGrown, layout: ChainLayout, opts: ChainOpenOptions,
    ids: IndexedIds
  ) {
    this.#core = core
    this.held = opts.held ?? (async () => undefined)
    this.pool = opts.pool
    this.ids = ids
    this.grown = grown
    this.registry = registry
    this.erased = erased
    this.crypto = crypto
    this.rules = new ChainRules(core.key!, crypto, layout, ids)
    this.appends = new AppendQueue({
      core,
      rules: this.rules,
      ids,
      registry,
      crypto,
      key: core.key!,
      applyErasures: async (seqs) => { await this.applyErasures(seqs) },
      get: async (seq) => await this.get(seq),
      written: (blocks) => { this.recent.add(blocks) },
      grown: (kind, length) => { this.grown(kind, length) }
    })
    // Closed by Hypercore itself too (a conflict): nothing is served from memory that the core would refuse.
    core.once('close', () => { this.recent.clear() })
  }

  /**
   * Opens a chain from disk. A custodian's own blocks were checked before it
   * wrote them, so their state (genesis, consent, ids) is folded without
   * re-verifying signatures. A replica trusts only the prefix its verified
   * mark covers (verified-mark.ts): Hypercore stores a replicated block
   * before ingest() checks it, so a block refused then is on disk too, and
   * everything past the mark is checked again, with every rule, as ingest()
   * does. `verify()` re-checks everything.
   *
   * A continuation core's layout (its segments) is read from its migrate
   * (readLayout), unless `opts.layout` is given: the new custodian's, before
   * it appends that migrate. `opts.held` opens the chain's earlier cores this
   * node holds, so an erasure below a segment's end clears their copy too;
   * `opts.pool` verifies ingested signatures on worker threads.
   * `opts.idsInMemory` bounds the entry ids the chain keeps in memory
   * (chain-ids.ts): the fold adds only those past the id index's mark, and
   * writes them to the index whenever the bound is reached (a crash left
   * them out of it).
   */
  static async open (
    core: Hypercore, registry: RegistryFeed, erased: ErasedLeaves, crypto: CryptoProvider, grown: ChainGrown = () => {}, opts: ChainOpenOptions = {}
  ): Promise<UserChain> {
    await core.ready()
    const { layout } = opts
    // A replica opened before anything arrived cannot know its segments yet: it learns them before folding anything.
    const pending = layout === undefined && core.manifest === null
    const known = layout ?? (pending ? firstCoreLayout(core.key!) : await readLayout(core))
    const ids = await IndexedIds.open(core, opts.idsInMemory ?? DEFAULT_IDS_IN_MEMORY)
    const chain = new UserChain(core, registry, erased, crypto, grown, known, opts, ids)
    chain.layoutKnown = !pending
    const trusted = core.writable ? core.length : await readVerifiedLength(core)
    chain.marked = trusted
    for (let seq = 0; seq < trusted; seq++) {
      const block = await core.get(seq, { wait: false })
      let entry: Entry | undefined
      try {
        entry = block === null ? undefined : decodeEntry(block)
      } catch {
        // A block damaged on disk: the chain still opens, so verify() can report it.
      }
      // Absent below the mark: erased (its erasure is further on, or it was cleared here).
      if (entry === undefined) chain.rules.skip(seq)
      else chain.rules.apply(entry, seq)
      if (ids.unindexed >= ids.bound) await ids.flush(seq + 1)
    }
    // Finish erasures a crash interrupted between appending the erasure and clearing its targets (earlier cores are cleared first, see clearBlocks).
    await chain.clearBlocks([...chain.rules.erasures].filter((target) => target < core.length), 'present')
    if (!core.writable) await chain.ingest()
    return chain
  }

  /**
   * On a replica: checks blocks that arrived by replication since the last
   * call, with every rule and every signature, folds them, and clears what
   * their erasures name. Stops at the first block not here yet, or at the
   * first that fails — that one and what follows are never folded, so never
   * served as valid (`verifiedLength` stays before it). A block that is
   * absent because the user erased it (a later erasure, signed by the user
   * for its own position, names it) is passed over: no node serves it any
   * more, and waiting for it would stop the chain for good.
   */
  ingest (): Promise<IngestResult> {
    return this.queueIngest(false)
  }

  /**
   * While a fetch brings blocks: ingests what has arrived (`ingest()`, up to
   * the first block not here yet) each time enough more blocks came, so
   * range k is checked — its signatures on the verification pool — while
   * range k+1 transfers. Returns a stop that waits for the pass under way and
   * gives the positions the passes folded; the caller then runs `ingest()`
   * for the rest. Passes stop at the first refusal (that `ingest()` reports).
   */
  ingestAsArriving (): () => Promise<number> {
    // Started now, the workers are likely ready when the first range has arrived.
    this.pool?.warm()
    this.followers++
    const stop = followArrivals(this.#core, async () => await this.queueIngest(true))
    let stopped = false
    return async () => {
      // Counted off before the pass under way ends: from now on it verifies on this thread too (see ingestBlocks).
      if (!stopped) this.followers--
      stopped = true
      return await stop()
    }
  }

  private queueIngest (arrivedOnly: boolean): Promise<IngestResult> {
    // One at a time: two ingests at once would both check the same next block.
    this.ingests++
    const run = this.ingesting.then(async () => await this.ingestArrived(arrivedOnly)).finally(() => { this.ingests-- })
    this.ingesting = run.then(() => {}, () => {})
    return run
  }

  /** Nothing under way: no append queued or being written, no ingest queued or running, nobody holding it (a fetch). */
  get idle (): boolean {
    return this.appends.idle && this.ingests === 0 && this.holds === 0
  }

  /**
   * Keeps the chain from counting as idle until `release()`: a fetch waits
   * on its core for seconds, and an idle close meanwhile would close the
   * core under it (the fetch then waited for its timeout and the chain stayed
   * behind until the next head).
   */
  hold (): void { this.holds++ }

  release (): void { this.holds = Math.max(0, this.holds - 1) }

  private async ingestArrived (arrivedOnly: boolean): Promise<IngestResult> {
    if (!this.layoutKnown && this.rules.length === 0) {
      // Nothing can be checked before the core's manifest (and a continuation's migrate) arrived.
      const layout = await layoutWhenArrived(this.#core)
      if (layout === undefined) return { added: 0, problem: undefined }
      this.rules = new ChainRules(this.key, this.crypto, layout, this.ids)
      this.layoutKnown = true
    }
    const start = this.rules.length
    await this.registry.refresh()
    const problem = await ingestBlocks({
      core: this.#core,
      rules: this.rules,
      registry: () => this.registry.state,
      crypto: this.crypto,
      pool: this.pool,
      erasedHere: this.erased.of(this.key),
      keyAt: (seq) => this.keyAt(seq),
      clearBlocks: async (positions) => { await this.clearBlocks(positions) },
      beforeCheck: async (id) => {
        if (this.ids.full(1)) await this.indexIds()
        await this.ids.prefetch([id])
      },
      arrivedOnly,
      transferring: () => this.followers > 0
    }, arrivedOnly ? await arrivedUntil(this.#core, start) : this.#core.length)
    await this.saveMark()
    if (this.rules.length > start) this.grown('ingest', this.rules.length)
    return { added: this.rules.length - start, problem }
  }

  /**
   * Writes the ids held in memory to the chain's id index, as far as they
   * are written (a custodian) or checked and marked (a replica: the verified
   * mark first, so the index never covers a block a restart checks again).
   */
  private async indexIds (): Promise<void> {
    if (this.#core.writable) {
      await this.ids.flush(this.#core.length)
      return
    }
    await this.saveMark()
    await this.ids.flush(Math.min(this.marked, this.rules.length))
  }

  /** Entry ids this chain holds in memory now (at most the bound it was opened with). */
  get idsInMemory (): number { return this.ids.size }

  /** Records how far this replica has verified, so a reopen checks only what follows (never on a custodian's own chain). */
  private async saveMark (): Promise<void> {
    if (this.#core.writable || this.rules.length <= this.marked) return
    const length = this.rules.length
    await writeVerifiedLength(this.#core, length)
    this.marked = Math.max(this.marked, length)
  }

  /** Positions [0, verifiedLength) have been checked and folded here. */
  get verifiedLength (): number { return this.rules.length }

  get key (): Uint8Array { return this.#core.key! }
  /** The key position `seq` was signed (and sealed) for: an earlier core's below a migrate. */
  keyAt (seq: number): Uint8Array { return keyAt(this.rules.layout, seq) }
  /** The chain's segments as its rules know them (chain-segments.ts). */
  get layout (): ChainLayout { return this.rules.layout }
  /** The cores the chain was written in, oldest first: key (hex) and positions [start, end). */
  get segments (): ReturnType<typeof describeSegments> { return describeSegments(this.rules.layout, this.#core.length) }
  get length (): number { return this.#core.length }
  get writable (): boolean { return this.#core.writable }
  /** The user named by the genesis; undefined before enrolment completes. */
  get user (): ChainUser | undefined { return this.rules.user }
  get userId (): UserId | undefined { return this.rules.user?.userId }

  /** The position of an entry id already in the chain (appended, or replicated and checked), if any: a retry's original. */
  async findId (id: Uint8Array): Promise<number | undefined> {
    return await this.ids.find(bytesToHex(id))
  }

  /** The chain's consent state after its last entry. */
  get consent (): ChainRules['consent'] { return this.rules.consent }

  /**
   * Appends an entry its author signed for position `seq`, which must be the
   * chain's next position when the entry's turn comes (else STALE_POSITION).
   */
  append (entry: Entry, seq: number): Promise<AppendResult> {
    return this.appends.enqueue({ entry, seq })
  }

  /** Appends an entry the custodian's institution signs, with `signer`, for the position it lands at. */
  appendSigned (unsigned: UnsignedEntry, signer: SigningKeyPair): Promise<AppendResult> {
    return this.appends.enqueue({ unsigned, signer })
  }

  /** Clears the data of entries named by the erasures among `seqs` (local data only; replicas do the same). */
  private async applyErasures (seqs: readonly number[]): Promise<void> {
    for (const seq of seqs) {
      if (this.rules.typeAt(seq) !== 'erasure') continue
      const block = await this.#core.get(seq, { wait: false })
      if (block === null) continue
      const entry = decodeEntry(block)
      if (entry.type !== 'erasure') continue
      this.recent.forget(entry.plain.entries)
      await this.clearBlocks(entry.plain.entries)
    }
  }

  /**
   * Clears blocks here and in the chain's earlier cores held here (clear-blocks.ts), those first: a crash in between
   * leaves the block here, so the next open, which passes only what is still here ('present'), clears both again.
   */
  private async clearBlocks (positions: readonly number[], earlier: 'all' | 'present' = 'all'): Promise<void> {
    const inEarlier = earlier === 'all' ? positions : await presentIn(this.#core, positions)
    await clearInEarlierCores(this.rules.layout, inEarlier, this.erased, this.held)
    await clearBlocks(this.#core, this.erased, positions)
  }

  /** Clears in the chain's earlier cores held here every block its erasures name so far (when the chain moved here). */
  async clearEarlier (): Promise<void> {
    await clearInEarlierCores(this.rules.layout, this.rules.erasures, this.erased, this.held)
  }

  /** Leaf nodes this node kept for its erased blocks (for verification). */
  get erasedLeaves (): ReturnType<ErasedLeaves['of']> { return this.erased.of(this.key) }

  /** The entry at `seq`, or null if its data is not stored here (erased, or not replicated). */
  async get (seq: number): Promise<Entry | null> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.#core.length) {
      throw new LedgerError('INVALID_FIELD', `position ${seq} is outside the chain (length ${this.#core.length})`, { field: 'seq' })
    }
    // Erased: never served, even if a peer that had not cleared it yet sent it back.
    if (this.rules.erasures.has(seq)) return null
    // Just appended here: from memory, while the block is still stored (Hypercore's bitfield, in memory: no storage read).
    const recent = this.recent.get(seq)
    if (recent !== undefined && await this.#core.has(seq)) return decodeEntry(recent)
    // wait: false — never fetch an erased block back from a peer.
    const block = await this.#core.get(seq, { wait: false })
    return block === null ? null : decodeEntry(block)
  }

  /** Entries in position order, filtered by range, type and time; erased entries are left out. */
  async read (query: ReadQuery = {}): Promise<PositionedEntry[]> {
    const start = Math.max(0, query.start ?? 1)
    const end = Math.min(this.#core.length, query.end ?? this.#core.length)
    const out: PositionedEntry[] = []
    for (let seq = start; seq < end; seq++) {
      const type = this.rules.typeAt(seq)
      if (query.types !== undefined && (type === undefined || !query.types.includes(type))) continue
      const entry = await this.get(seq)
      if (entry === null) continue
      if (query.since !== undefined && entry.time < query.since) continue
      if (query.until !== undefined && entry.time >= query.until) continue
      out.push({ seq, entry })
    }
    return out
  }

  /**
   * The X25519 keys an exam written now by an institution with box key
   * `authorBox` must be sealed for: the user, the author, and every examiner
   * the user has granted that is active in the current registry (their box
   * keys there): a suspended examiner's grant gives it nothing new.
   */
  examRecipients (authorBox: Uint8Array, time: number = Date.now()): Uint8Array[] {
    const user = this.rules.user
    if (user === undefined) throw new LedgerError('BAD_GENESIS', 'the chain has no genesis')
    const granted = this.rules.consent.active(time)
      .map((g) => this.registry.state.institutionAt(g.examiner))
      .filter((record) => record?.status === 'active')
      .map((record) => record!.box)
    return [user.box, authorBox, ...granted]
  }

  /**
   * The stored blocks at [start, end), in position order, for a reader that
   * decodes them itself with decodeBlock (the same checks as `get`, without
   * keeping the entries for re-encoding): the query index's rebuild, which
   * spreads decoding over two threads. Erased and absent blocks are left
   * out, as `read` leaves them out. With `maxBytes`, it stops after the
   * block that brings the bytes read to it (so a reader holds a bounded
   * amount whatever the entries' sizes): the next read starts after the
   * last block returned.
   */
  async readBlocks (start: number, end: number, opts: { maxBytes?: number } = {}): Promise<PositionedBlock[]> {
    const last = Math.min(this.#core.length, end)
    const out: PositionedBlock[] = []
    let bytes = 0
    for (let seq = Math.max(0, start); seq < last && bytes < (opts.maxBytes ?? Infinity); seq++) {
      if (this.rules.erasures.has(seq)) continue
      // wait: false — never fetch an erased block back from a peer.
      const block = await this.#core.get(seq, { wait: false })
      if (block !== null) {
        out.push({ seq, block })
        bytes += block.byteLength
      }
    }
    return out
  }

  /** Positions whose data an erasure entry has asked to clear. */
  get erasedPositions (): ReadonlySet<number> { return this.rules.erasures }

  /** Waits for queued appends to be written. */
  async settled (): Promise<void> {
    await this.appends.settled()
  }

  async close (): Promise<void> {
    await this.settled()
    // What the id index lacks is found again by the next open's fold; written now, that fold holds fewer in memory.
    if (!this.#core.closing) await this.indexIds().catch(() => {})
    this.recent.clear()
    await this.#core.close()
  }

  // ------------------------------------------------------------ for the network: heads and proofs

  /** The fork id of the chain's current tree (Hypercore's: it grows when a writer truncates). */
  get fork (): number { return this.#core.fork }

  /** The writer's signed head and root, from memory (null on a replica, or before the first append). */
  writerHead (): HeadWithRoot | null { return writerHead(this.#core) }

  /** The signed head and root Hypercore holds in memory (a replica's too), null when there is none. */
  headInMemory (): HeadWithRoot | null { return headInMemory(this.#core) }

  /** The signed head as stored (null when there is none: empty, or no stored signature). */
  storedHead (): StoredHead | null { return storedHead(this.#core) }

  /** The tree hash at `length` from the stored tree nodes (rejects when they are not all here). */
  async treeHashAt (length: number): Promise<Uint8Array> { return await storedTreeHash(this.#core, length) }

  /** Consistency nodes from `from` to `to` from this node's tree (erased leaves included); null when some are missing. */
  async consistencyNodes (from: number, to: number): Promise<MerkleNode[] | null> {
    return await readConsistencyNodes(this.#core, from, to, this.erasedLeaves)
  }

  /**
   * Calls `listener` with what the peer sent when Hypercore finds a peer's
   * signed head conflicting with this chain's tree (its `conflict` event,
   * emitted before it closes every session of the core).
   */
  onConflict (listener: (proof: unknown) => void): void {
    this.#core.on('conflict', (_length, _fork, proof) => { listener(proof) })
  }

  /** Calls `listener` once the chain's core is closed (by close(), or by Hypercore itself on a conflict). */
  onClosed (listener: () => void): void { this.#core.once('close', listener) }

  /** Whether the chain's core is closed or closing (Hypercore closes it by itself after a conflict): nothing to hand out. */
  get coreClosed (): boolean { return this.#core.closed || this.#core.closing !== null }

  /** Resolves once a close under way (Hypercore's, after a conflict) has ended; at once if none is. */
  async closingDone (): Promise<void> { await this.#core.closing?.catch(() => {}) }

  // ------------------------------------------------------------ for the network: fetching

  /**
   * Active or not for replication: an active core keeps its channels open
   * and asks peers for newer lengths (Hypercore closes a channel neither
   * side downloads on).
   */
  setActive (active: boolean): void { this.#core.setActive(active) }

  /** Attaches the chain to a replication stream (Hypercore's protocol stream). */
  replicate (stream: Hypercore.ProtocolStream): void { this.#core.replicate(stream) }

  /** Waits for a connected peer's newer length, if any (Hypercore's update, waiting for peers). */
  async update (): Promise<void> { await this.#core.update({ wait: true }) }

  /** Resolves once the stored length reaches `length` (a peer's upgrade arrived). */
  async reachLength (length: number): Promise<void> {
    while (this.#core.length < length) await new Promise<void>((resolve) => this.#core.once('append', () => resolve()))
  }

  /** Downloads blocks [start, end) from peers, except those the user erased (download-unerased.ts). */
  async download (start: number, end: number): Promise<void> { await downloadUnerased(this.#core, start, end) }

  /** Full integrity report of the chain against `registry` (verify-chain.ts), its signature checks on `pool`. */
  async verify (registry: RegistryState, pool: VerifyPool): Promise<ChainReport> {
    return await verifyChain(this.#core, registry, this.crypto, { pool, erasedLeaves: this.erasedLeaves })
  }

  /** Hex of the chain key, for logs and errors (never health data). */
  toString (): string { return `chain ${bytesToHex(this.key).slice(0, 16)}…` }
}
