/**
 * One user's chain on disk.
 *
 * Appends go through a queue: while one batch is being written, new requests
 * gather, and the next flush writes them all with one Hypercore append.
 * Every entry in a batch is checked against ChainRules in order (inside a
 * rules transaction), so a refused entry is answered with its error and
 * takes no position, and a failed write rolls the whole batch back. A request
 * resolves only after Hypercore has written its block.
 *
 * Two kinds of request:
 * - `append(entry)`: an entry its author already signed for one position
 *   (a user's entry, or one forwarded by another institution). If the chain
 *   has moved past that position the request fails with STALE_POSITION and
 *   the author re-signs; a retry of an entry already in the chain (same id,
 *   same content) returns its existing position instead.
 * - `appendSigned(unsigned, signer)`: the custodian's own institution
 *   writes; the entry is signed with `signer` for whatever position it lands
 *   at. The rules check that `signer` is the author's key in the registry
 *   (so a wrong or rotated-out key never reaches the chain) without
 *   verifying a signature made a moment ago in this process; the key pair
 *   itself is checked once (it signs and verifies a probe).
 */
import type Hypercore from 'hypercore'
import {
  USER_AUTHOR, bytesToHex, decodeEntry, encodeEntry, encodeUnsignedEntry, equal, signEntry, unsignedPart, utf8ToBytes, verifyEntrySignature,
  type CryptoProvider, type Entry, type EntryType, type SigningKeyPair, type UnsignedEntry, type UserId
} from '@healthchain/core'
import { ChainRules, type ChainUser } from './chain-rules.js'
import { LedgerError, asLedgerError } from './errors.js'
import type { ErasedLeaves } from './erased-leaves.js'
import type { RegistryFeed } from './registry-feed.js'
import { scrubErased } from './scrub-erased.js'
import { restoreTreeNodes, storedLeaves, treeNodesAround } from './tree-audit.js'
import { readVerifiedLength, writeVerifiedLength } from './verified-mark.js'

/** Told when the chain grows: written here (`append`) or fetched and checked (`ingest`), with the length reached. */
export type ChainGrown = (kind: 'append' | 'ingest', length: number) => void

/** Most entries written by one Hypercore append. */
const MAX_BATCH = 256

export interface AppendResult {
  /** The entry's position in the chain. */
  readonly seq: number
  /** True when the entry was already in the chain (an idempotent retry); nothing was written. */
  readonly duplicate: boolean
}

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

interface PreparedBatch {
  readonly generation: number
  readonly blocks: Uint8Array[]
  readonly written: Array<{ request: PendingAppend, seq: number }>
  /** Retries of entries already in the chain (or in a batch being written). */
  readonly duplicates: Array<{ request: PendingAppend, entry: Entry, seq: number }>
}

interface PendingAppend {
  readonly entry?: Entry
  /** The position the author signed `entry` for. */
  readonly seq?: number
  /** An entry for the custodian to sign with `signer` at the position it takes. */
  readonly unsigned?: UnsignedEntry
  readonly signer?: SigningKeyPair
  resolve (result: AppendResult): void
  reject (err: unknown): void
}

const KEY_PROBE = utf8ToBytes('healthchain/v1/key-pair-probe')
const checkedKeyPairs = new WeakSet<Uint8Array>()

/** A signing key pair whose halves do not belong together would sign entries no one can verify: refuse it once, up front. */
function assertKeyPair (signer: SigningKeyPair, crypto: CryptoProvider): void {
  if (checkedKeyPairs.has(signer.secretKey)) return
  let ok = false
  try {
    ok = crypto.verify(KEY_PROBE, crypto.sign(KEY_PROBE, signer.secretKey), signer.publicKey)
  } catch {
    ok = false
  }
  if (!ok) throw new LedgerError('BAD_KEY', 'the signing key pair is inconsistent: its secret key does not match its public key')
  checkedKeyPairs.add(signer.secretKey)
}

export class UserChain {
  readonly core: Hypercore
  private readonly registry: RegistryFeed
  private readonly crypto: CryptoProvider
  private readonly erased: ErasedLeaves
  private readonly rules: ChainRules
  private readonly queue: PendingAppend[] = []
  /** Bumped by every rollback: a prepared batch from an older generation was rolled back. */
  private generation = 0
  private ingesting: Promise<void> = Promise.resolve()
  /** Ingests queued or running. */
  private ingests = 0
  /** Holds taken by `hold()` and not released. */
  private holds = 0
  private writeError: unknown
  private flushing: Promise<void> | undefined
  /** The verified length last recorded on disk (replicas only). */
  private marked = 0
  private readonly grown: ChainGrown

  private constructor (core: Hypercore, registry: RegistryFeed, erased: ErasedLeaves, crypto: CryptoProvider, grown: ChainGrown) {
    this.core = core
    this.grown = grown
    this.registry = registry
    this.erased = erased
    this.crypto = crypto
    this.rules = new ChainRules(core.key!, crypto)
  }

  /**
   * Opens a chain from disk. A custodian's own blocks were checked before it
   * wrote them, so their state (genesis, consent, ids) is folded without
   * re-verifying signatures. A replica trusts only the prefix its verified
   * mark covers (verified-mark.ts): Hypercore stores a replicated block
   * before ingest() checks it, so a block refused then is on disk too, and
   * everything past the mark is checked again, with every rule, as ingest()
   * does. `verify()` re-checks everything.
   */
  static async open (core: Hypercore, registry: RegistryFeed, erased: ErasedLeaves, crypto: CryptoProvider, grown: ChainGrown = () => {}): Promise<UserChain> {
    await core.ready()
    const chain = new UserChain(core, registry, erased, crypto, grown)
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
    }
    // Finish erasures a crash interrupted between appending the erasure and clearing its targets.
    await chain.clearBlocks([...chain.rules.erasures].filter((target) => target < core.length))
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
    // One at a time: two ingests at once would both check the same next block.
    this.ingests++
    const run = this.ingesting.then(async () => await this.ingestArrived()).finally(() => { this.ingests-- })
    this.ingesting = run.then(() => {}, () => {})
    return run
  }

  /** Nothing under way: no append queued or being written, no ingest queued or running, nobody holding it (a fetch). */
  get idle (): boolean {
    return this.queue.length === 0 && this.flushing === undefined && this.ingests === 0 && this.holds === 0
  }

  /**
   * Keeps the chain from counting as idle until `release()`: a fetch waits
   * on its core for seconds, and an idle close meanwhile would close the
   * core under it (the fetch then waited for its timeout and the chain stayed
   * behind until the next head).
   */
  hold (): void { this.holds++ }

  release (): void { this.holds = Math.max(0, this.holds - 1) }

  private async ingestArrived (): Promise<IngestResult> {
    const start = this.rules.length
    const erasedHere = this.erased.of(this.key)
    await this.registry.refresh()
    let problem: IngestResult['problem']
    let erasedAhead: ReadonlySet<number> | undefined
    for (let seq = start; seq < this.core.length; seq++) {
      const block = await this.core.get(seq, { wait: false })
      if (block === null) {
        erasedAhead ??= await this.erasuresAhead(seq + 1)
        if (!erasedHere.has(seq) && !erasedAhead.has(seq)) break
        this.rules.skip(seq)
        continue
      }
      try {
        const entry = decodeEntry(block)
        this.rules.check(entry, seq, this.registry.state)
        this.rules.apply(entry, seq)
        if (entry.type === 'erasure') await this.clearBlocks(entry.plain.entries)
      } catch (err) {
        const e = asLedgerError(err)
        problem = { seq, code: e instanceof LedgerError ? e.code : 'MALFORMED', message: e instanceof Error ? e.message : String(e) }
        break
      }
    }
    await this.saveMark()
    if (this.rules.length > start) this.grown('ingest', this.rules.length)
    return { added: this.rules.length - start, problem }
  }

  /**
   * Positions named by erasures stored at `from` or later that the user
   * signed for their own position: proof enough that an absent block was
   * erased on purpose. Only the signature is checked here; each erasure is
   * checked with every rule when its turn comes.
   */
  private async erasuresAhead (from: number): Promise<ReadonlySet<number>> {
    const named = new Set<number>()
    const user = this.rules.user
    if (user === undefined) return named
    for (let seq = from; seq < this.core.length; seq++) {
      const block = await this.core.get(seq, { wait: false })
      if (block === null) continue
      let entry: Entry
      try {
        entry = decodeEntry(block)
      } catch {
        continue
      }
      if (entry.type !== 'erasure' || entry.author !== USER_AUTHOR) continue
      if (!verifyEntrySignature(entry, { chainKey: this.key, seq }, user.sign, this.crypto)) continue
      for (const target of entry.plain.entries) named.add(target)
    }
    return named
  }

  /** Records how far this replica has verified, so a reopen checks only what follows (never on a custodian's own chain). */
  private async saveMark (): Promise<void> {
    if (this.core.writable || this.rules.length <= this.marked) return
    const length = this.rules.length
    await writeVerifiedLength(this.core, length)
    this.marked = Math.max(this.marked, length)
  }

  /** Positions [0, verifiedLength) have been checked and folded here. */
  get verifiedLength (): number { return this.rules.length }

  get key (): Uint8Array { return this.core.key! }
  get length (): number { return this.core.length }
  get writable (): boolean { return this.core.writable }
  /** The user named by the genesis; undefined before enrolment completes. */
  get user (): ChainUser | undefined { return this.rules.user }
  get userId (): UserId | undefined { return this.rules.user?.userId }

  /** The chain's consent state after its last entry. */
  get consent (): ChainRules['consent'] { return this.rules.consent }

  /**
   * Appends an entry its author signed for position `seq`, which must be the
   * chain's next position when the entry's turn comes (else STALE_POSITION).
   */
  append (entry: Entry, seq: number): Promise<AppendResult> {
    return this.enqueue({ entry, seq })
  }

  /** Appends an entry the custodian's institution signs, with `signer`, for the position it lands at. */
  appendSigned (unsigned: UnsignedEntry, signer: SigningKeyPair): Promise<AppendResult> {
    return this.enqueue({ unsigned, signer })
  }

  private enqueue (request: Omit<PendingAppend, 'resolve' | 'reject'>): Promise<AppendResult> {
    if (!this.core.writable) return Promise.reject(new LedgerError('NOT_CUSTODIAN', 'this node does not hold the writing key of this chain'))
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject })
      this.kick()
    })
  }

  /**
   * Starts a flush unless one runs; a request that arrives as a flush ends is
   * picked up by the next. The flush starts a microtask later, so requests
   * made in the same turn share the first batch.
   */
  private kick (): void {
    if (this.flushing !== undefined) return
    this.flushing = Promise.resolve().then(async () => await this.flush()).finally(() => {
      this.flushing = undefined
      if (this.queue.length > 0) this.kick()
    })
  }

  /**
   * Writes the queue batch by batch. Hypercore appends stay strictly in
   * order, but the next batch is signed and checked (CPU work) while the one
   * before is still being written (I/O), on a stacked rules transaction.
   */
  private async flush (): Promise<void> {
    let writing: Promise<void> | undefined
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH)
      await this.registry.refresh()
      const prepared = this.prepareBatch(batch)
      writing = this.writeBatch(prepared, writing)
      // A turn of the event loop between batches: hypercore's append goes through several I/O steps, and
      // without one, the writes of every batch queued here would only progress once all were prepared.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    await writing
  }

  /**
   * Signs, validates and checks a batch against the state the batches before
   * it leave, in a new rules transaction. Synchronous, so a rollback can
   * never land in the middle of it.
   */
  private prepareBatch (batch: PendingAppend[]): PreparedBatch {
    const prepared: PreparedBatch = { generation: this.generation, blocks: [], written: [], duplicates: [] }
    this.rules.begin()
    for (const request of batch) {
      const seq = this.rules.length
      try {
        let entry: Entry
        let verifiedKey: Uint8Array | undefined
        if (request.signer !== undefined) {
          assertKeyPair(request.signer, this.crypto)
          entry = signEntry(request.unsigned!, { chainKey: this.key, seq }, request.signer.secretKey, this.crypto)
          verifiedKey = request.signer.publicKey
        } else {
          entry = request.entry!
        }
        // Validate first: a malformed object is refused with core's code before any field of it is used.
        const block = encodeEntry(entry)
        const existing = this.rules.positionOf(entry.id)
        if (existing !== undefined) {
          prepared.duplicates.push({ request, entry, seq: existing })
          continue
        }
        if (request.seq !== undefined && request.seq !== seq) {
          throw new LedgerError('STALE_POSITION', `entry was signed for position ${request.seq}; the chain's next position is ${seq}`)
        }
        // For entries signed here, the rules still require the signer to be the author's registered key.
        this.rules.check(entry, seq, this.registry.state, { verifiedKey, appending: true })
        this.rules.apply(entry, seq)
        prepared.blocks.push(block)
        prepared.written.push({ request, seq })
      } catch (err) {
        request.reject(asLedgerError(err))
      }
    }
    return prepared
  }

  /** Writes a prepared batch once the batch before it is written; answers its requests. */
  private async writeBatch (prepared: PreparedBatch, previous: Promise<void> | undefined): Promise<void> {
    await previous
    if (prepared.generation !== this.generation) {
      // A write before this one failed and rolled back every open transaction, this one's too.
      for (const { request } of prepared.written) request.reject(this.writeError)
      this.answerDuplicates(prepared)
      return
    }
    if (prepared.blocks.length > 0) {
      try {
        await this.core.append(prepared.blocks)
      } catch (err) {
        this.rules.rollback()
        this.generation++
        this.writeError = err
        for (const { request } of prepared.written) request.reject(err)
        this.answerDuplicates(prepared)
        return
      }
    }
    this.rules.commit()
    // Clear erased data before acknowledging, so a read after an acknowledged erasure never sees it.
    // If clearing fails the entries are still written; open() finishes the erasure.
    await this.applyErasures(prepared.written.map(({ seq }) => seq)).catch(() => {})
    for (const { request, seq } of prepared.written) request.resolve({ seq, duplicate: false })
    this.answerDuplicates(prepared)
    if (prepared.blocks.length > 0) this.grown('append', this.core.length)
  }

  /**
   * Answers retries only once the writes they depend on are settled: a retry
   * is told "already there" only if its original is on disk now; if the
   * original's write failed, the retry gets that failure.
   */
  private answerDuplicates (prepared: PreparedBatch): void {
    for (const d of prepared.duplicates) {
      if (d.seq >= this.core.length) d.request.reject(this.writeError ?? new LedgerError('STALE_POSITION', 'the original of this retry was not written'))
      else this.duplicateOf(d.entry, d.seq).then(d.request.resolve, d.request.reject)
    }
  }

  /** A retried entry: same id and same signed content is the same entry; anything else is a conflict. */
  private async duplicateOf (entry: Entry, seq: number): Promise<AppendResult> {
    const stored = await this.get(seq)
    if (stored !== null && equal(encodeUnsignedEntry(unsignedPart(stored)), encodeUnsignedEntry(unsignedPart(entry)))) {
      return { seq, duplicate: true }
    }
    throw new LedgerError('DUPLICATE_ENTRY', `entry id is already used at position ${seq} by a different entry`)
  }

  /** Clears the data of entries named by the erasures among `seqs` (local data only; replicas do the same). */
  private async applyErasures (seqs: readonly number[]): Promise<void> {
    for (const seq of seqs) {
      if (this.rules.typeAt(seq) !== 'erasure') continue
      const block = await this.core.get(seq, { wait: false })
      if (block === null) continue
      const entry = decodeEntry(block)
      if (entry.type !== 'erasure') continue
      await this.clearBlocks(entry.plain.entries)
    }
  }

  /** Clears blocks' data, first keeping their leaf nodes so the rest of the chain stays provable. */
  private async clearBlocks (positions: readonly number[]): Promise<void> {
    const present: number[] = []
    for (const seq of positions) if (await this.core.has(seq)) present.push(seq)
    if (present.length === 0) return
    const leaves = await storedLeaves(this.core, present)
    await this.erased.record(this.key, leaves.filter((l): l is NonNullable<typeof l> => l !== null))
    // clear() also drops tree nodes that proofs for peers behind the erasure need: put them back (hashes only).
    const nodes = await treeNodesAround(this.core, present)
    for (const seq of present) await this.core.clear(seq)
    await restoreTreeNodes(this.core, nodes)
    await scrubErased(this.core, this.erased, present)
  }

  /** Leaf nodes this node kept for its erased blocks (for verification). */
  get erasedLeaves (): ReturnType<ErasedLeaves['of']> { return this.erased.of(this.key) }

  /** The entry at `seq`, or null if its data is not stored here (erased, or not replicated). */
  async get (seq: number): Promise<Entry | null> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.core.length) {
      throw new LedgerError('INVALID_FIELD', `position ${seq} is outside the chain (length ${this.core.length})`, { field: 'seq' })
    }
    // Erased: never served, even if a peer that had not cleared it yet sent it back.
    if (this.rules.erasures.has(seq)) return null
    // wait: false — never fetch an erased block back from a peer.
    const block = await this.core.get(seq, { wait: false })
    return block === null ? null : decodeEntry(block)
  }

  /** Entries in position order, filtered by range, type and time; erased entries are left out. */
  async read (query: ReadQuery = {}): Promise<PositionedEntry[]> {
    const start = Math.max(0, query.start ?? 1)
    const end = Math.min(this.core.length, query.end ?? this.core.length)
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

  /** Positions whose data an erasure entry has asked to clear. */
  get erasedPositions (): ReadonlySet<number> { return this.rules.erasures }

  /** Waits for queued appends to be written. */
  async settled (): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
  }

  async close (): Promise<void> {
    await this.settled()
    await this.core.close()
  }

  /** Hex of the chain key, for logs and errors (never health data). */
  toString (): string { return `chain ${bytesToHex(this.key).slice(0, 16)}…` }
}
