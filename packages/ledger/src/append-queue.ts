/**
 * The append queue of one user's chain (the custodian's side).
 *
 * While one batch is being written, new requests gather, and the next flush
 * writes them all with one Hypercore append. Every entry in a batch is
 * checked against ChainRules in order (inside a rules transaction), so a
 * refused entry is answered with its error and takes no position, and a
 * failed write rolls the whole batch back. A request resolves only after
 * Hypercore has written its block.
 *
 * Two kinds of request:
 * - an entry its author already signed for one position (a user's entry,
 *   or one forwarded by another institution). If the chain has moved past
 *   that position the request fails with STALE_POSITION and the author
 *   re-signs; a retry of an entry already in the chain (same id, same
 *   content) returns its existing position instead.
 * - an unsigned entry the custodian's own institution writes: signed with
 *   `signer` for whatever position it lands at. The rules check that
 *   `signer` is the author's key in the registry (so a wrong or rotated-out
 *   key never reaches the chain) without verifying a signature made a moment
 *   ago in this process; the key pair itself is checked once (it signs and
 *   verifies a probe).
 *
 * The chain's entry ids are on disk but for the newest (chain-ids.ts): the
 * ids a batch names are read from the id index before it is checked, and
 * when the next batch would take the ids held in memory past their bound,
 * the written ones go to the index first.
 *
 * Flow: enqueue ─► kick (a microtask later, so requests of one turn share a
 * batch) ─► flush: ids prefetched (and flushed when full), prepareBatch (sign,
 * validate, check: CPU) for the next batch while writeBatch (Hypercore
 * append: I/O) writes the one before ─►
 * each request answered, retries once their original is settled
 * (answerDuplicates) ─► the chain told it grew.
 */
import type Hypercore from 'hypercore'
import {
  encodeEntry, encodeUnsignedEntry, equal, signEntry, unsignedPart, utf8ToBytes,
  type CryptoProvider, type Entry, type SigningKeyPair, type UnsignedEntry
} from '@healthchain/core'
import type { ChainRules } from './chain-rules.js'
import type { IndexedIds } from './chain-ids.js'
import { LedgerError, asLedgerError } from './errors.js'
import type { RegistryFeed } from './registry-feed.js'

export interface AppendResult {
  /** The entry's position in the chain. */
  readonly seq: number
  /** True when the entry was already in the chain (an idempotent retry); nothing was written. */
  readonly duplicate: boolean
}

/** What the queue writes through: the chain's core and rules, and what it asks of the chain. */
export interface AppendTarget {
  readonly core: Hypercore
  readonly rules: ChainRules
  /** The ids `rules` checks against. */
  readonly ids: IndexedIds
  readonly registry: RegistryFeed
  readonly crypto: CryptoProvider
  readonly key: Uint8Array
  /** Clears the data of entries named by the erasures among `seqs`. */
  applyErasures (seqs: readonly number[]): Promise<void>
  /** The stored entry at `seq` (null if cleared). */
  get (seq: number): Promise<Entry | null>
  /** The blocks of a batch once Hypercore has written them, before any is acknowledged. */
  written (blocks: ReadonlyArray<{ readonly seq: number, readonly block: Uint8Array }>): void
  /** Told once per batch written, with the chain's new length. */
  grown (kind: 'append', length: number): void
}

/** Most entries written by one Hypercore append. */
const MAX_BATCH = 256

interface PreparedBatch {
  readonly generation: number
  readonly blocks: Uint8Array[]
  readonly written: Array<{ request: PendingAppend, seq: number, entry: Entry, block: Uint8Array }>
  /** Retries of entries already in the chain (or in a batch being written). */
  readonly duplicates: Array<{ request: PendingAppend, entry: Entry, seq: number }>
}

/** One append asked for: `entry` signed for `seq` by its author, or `unsigned` for the custodian to sign with `signer`. */
export type AppendRequest = Omit<PendingAppend, 'resolve' | 'reject'>

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

/** The id a request names, if it is well-formed enough to have one (prepareBatch refuses the rest). */
function idOf (request: PendingAppend): Uint8Array | undefined {
  const id: unknown = request.entry?.id ?? request.unsigned?.id
  return id instanceof Uint8Array ? id : undefined
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

export class AppendQueue {
  private readonly chain: AppendTarget
  private readonly queue: PendingAppend[] = []
  /** Bumped by every rollback: a prepared batch from an older generation was rolled back. */
  private generation = 0
  private writeError: unknown
  private flushing: Promise<void> | undefined

  constructor (chain: AppendTarget) {
    this.chain = chain
  }

  /** Nothing queued or being written. */
  get idle (): boolean { return this.queue.length === 0 && this.flushing === undefined }

  /** Waits for queued appends to be written. */
  async settled (): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
  }

  /** Queues a request: resolves once its block is written (or it is answered as a retry), rejects with its refusal. */
  enqueue (request: AppendRequest): Promise<AppendResult> {
    if (!this.chain.core.writable) return Promise.reject(new LedgerError('NOT_CUSTODIAN', 'this node does not hold the writing key of this chain'))
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
    const ids = this.chain.ids
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, Math.min(MAX_BATCH, ids.bound))
      try {
        await this.chain.registry.refresh()
        if (ids.full(batch.length)) {
          // Only written ids go to the index: the batch being written first.
          await writing
          await ids.flush(this.chain.core.length)
        }
        await ids.prefetch(batch.map(idOf).filter((id) => id !== undefined))
      } catch (err) {
        for (const request of batch) request.reject(asLedgerError(err))
        continue
      }
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
    this.chain.rules.begin()
    for (const request of batch) {
      const seq = this.chain.rules.length
      try {
        let entry: Entry
        let verifiedKey: Uint8Array | undefined
        if (request.signer !== undefined) {
          assertKeyPair(request.signer, this.chain.crypto)
          entry = signEntry(request.unsigned!, { chainKey: this.chain.key, seq }, request.signer.secretKey, this.chain.crypto)
          verifiedKey = request.signer.publicKey
        } else {
          entry = request.entry!
        }
        // Validate first: a malformed object is refused with core's code before any field of it is used.
        const block = encodeEntry(entry)
        const existing = this.chain.rules.positionOf(entry.id)
        if (existing !== undefined) {
          prepared.duplicates.push({ request, entry, seq: existing })
          continue
        }
        if (request.seq !== undefined && request.seq !== seq) {
          throw new LedgerError('STALE_POSITION', `entry was signed for position ${request.seq}; the chain's next position is ${seq}`)
        }
        // For entries signed here, the rules still require the signer to be the author's registered key.
        this.chain.rules.check(entry, seq, this.chain.registry.state, { verifiedKey, appending: true })
        this.chain.rules.apply(entry, seq)
        prepared.blocks.push(block)
        prepared.written.push({ request, seq, entry, block })
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
        await this.chain.core.append(prepared.blocks)
      } catch (err) {
        this.chain.rules.rollback()
        this.generation++
        this.writeError = err
        for (const { request } of prepared.written) request.reject(err)
        this.answerDuplicates(prepared)
        return
      }
    }
    this.chain.rules.commit()
    this.chain.written(prepared.written)
    // Clear erased data before acknowledging, so a read after an acknowledged erasure never sees it.
    // If clearing fails the entries are still written; open() finishes the erasure.
    await this.chain.applyErasures(prepared.written.map(({ seq }) => seq)).catch(() => {})
    for (const { request, seq } of prepared.written) request.resolve({ seq, duplicate: false })
    this.answerDuplicates(prepared)
    if (prepared.blocks.length > 0) this.chain.grown('append', this.chain.core.length)
  }

  /**
   * Answers retries only once the writes they depend on are settled: a retry
   * is told "already there" only if its original is on disk now; if the
   * original's write failed, the retry gets that failure.
   */
  private answerDuplicates (prepared: PreparedBatch): void {
    for (const d of prepared.duplicates) {
      if (d.seq >= this.chain.core.length) d.request.reject(this.writeError ?? new LedgerError('STALE_POSITION', 'the original of this retry was not written'))
      else this.duplicateOf(d.entry, d.seq).then(d.request.resolve, d.request.reject)
    }
  }

  /** A retried entry: same id and same signed content is the same entry; anything else is a conflict. */
  private async duplicateOf (entry: Entry, seq: number): Promise<AppendResult> {
    const stored = await this.chain.get(seq)
    if (stored !== null && equal(encodeUnsignedEntry(unsignedPart(stored)), encodeUnsignedEntry(unsignedPart(entry)))) {
      return { seq, duplicate: true }
    }
    throw new LedgerError('DUPLICATE_ENTRY', `entry id is already used at position ${seq} by a different entry`)
  }
}
