/**
 * The ledger of one node: a Corestore in `<dir>`, the registry, and the user
 * chains it holds — as custodian (it enrolled the user and holds the feed's
 * writing key) or as a replica.
 *
 * A custodian's chain for user U is the store's named core `chain/<U>`, so
 * its key is known before anything is written (`chainKeyFor`): the user signs
 * the genesis for that key and position 0, then `enrol` writes it. A chain
 * can move to another custodian's continuation core (continuation.ts); the
 * catalog then names that core as the user's chain.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import Corestore from 'corestore'
import Hypercore from 'hypercore'
import {
  bytesToHex, encodeEntryBody, equal, userIdFromKey, type CryptoProvider, type Entry, type InstitutionId, type SigningKeyPair, type UserId
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Catalog, type ClosedChain } from './catalog.js'
import { heldCoreOpener } from './clear-blocks.js'
import type { ChainLayout } from './chain-segments.js'
import { DEFAULT_IDS_IN_MEMORY, MAX_IDS_IN_MEMORY } from './chain-ids.js'
import { Continuations, type ContinuationOffer } from './continuation.js'
import { ChainChanges, type ChainChangeListener } from './chain-changes.js'
import { ErasedLeaves } from './erased-leaves.js'
import { LedgerError } from './errors.js'
import { localCoresOf, localDiscoveryKeys, openLocalCore, type LocalCoreName } from './local-cores.js'
import { OpenChains, type ChainOpenedListener } from './open-chains.js'
import { RegistryFeed } from './registry-feed.js'
import { scrubUnfinished } from './scrub-erased.js'
import { readStoredHeads, readStoredLengths, type StoredChainHead, type StoredLength } from './stored-heads.js'
import { storeOpenError } from './store-open-error.js'
import { UserChain } from './user-chain.js'
import type { ChainReport } from './verify-chain.js'
import { VerifyPool } from './verify-pool.js'

export interface LedgerOptions {
  /** Directory of the Corestore (created if missing, owner-only). */
  readonly dir: string
  /** The institution this node runs as; required to enrol users. */
  readonly institution?: InstitutionId
  /** Defaults to libsodium (the fast path); noble gives the same verdicts. */
  readonly crypto?: CryptoProvider
  /** Verification worker threads (default: one per core but one, at most four; 0 verifies inline). */
  readonly verifyWorkers?: number
  /** Bytes of one RocksDB memtable (default DEFAULT_WRITE_BUFFER_BYTES; see checkedWriteBuffer). */
  readonly writeBufferBytes?: number
  /**
   * Entry ids each open chain keeps in memory for its duplicate check, at most (default DEFAULT_IDS_IN_MEMORY); the
   * others are in the chain's id index on disk (chain-ids.ts), so a retry of any entry is still recognised.
   */
  readonly idsInMemory?: number
  /** Catalog records appended between two writes of its checkpoint (default CHECKPOINT_EVERY; also written at close). */
  readonly catalogCheckpointEvery?: number
  /** Told what the ledger does about a problem it works around (a catalog checkpoint not used); default: a Node.js warning, once. */
  readonly warn?: (message: string) => void
}

/** The catalog's checkpoint, in the store's directory beside RocksDB's (catalog-checkpoint.ts). */
export const CATALOG_CHECKPOINT_FILE = 'catalog-checkpoint'

/** One RocksDB memtable by default: 16 MiB (RocksDB's own default is 64 MiB). */
export const DEFAULT_WRITE_BUFFER_BYTES = 16 * 1024 * 1024
export const MIN_WRITE_BUFFER_BYTES = 1024 * 1024
export const MAX_WRITE_BUFFER_BYTES = 1024 * 1024 * 1024

/**
 * The store's storage, its memory bounded: writes collect in RocksDB
 * memtables until one is full and flushed to disk, and with RocksDB's
 * default (64 MiB a memtable, up to two per column family, two column
 * families) a busy node's resident memory climbs by a quarter of a GiB
 * before the first flush. A smaller memtable flushes sooner, into smaller
 * files that compaction merges later; the memory they take is at most four
 * times `writeBufferBytes`.
 */
function checkedWriteBuffer (writeBufferBytes = DEFAULT_WRITE_BUFFER_BYTES): number {
  if (!Number.isSafeInteger(writeBufferBytes) || writeBufferBytes < MIN_WRITE_BUFFER_BYTES || writeBufferBytes > MAX_WRITE_BUFFER_BYTES) {
    throw new LedgerError('INVALID_FIELD', `writeBufferBytes is a whole number from ${MIN_WRITE_BUFFER_BYTES} to ${MAX_WRITE_BUFFER_BYTES}`, {
      field: 'writeBufferBytes'
    })
  }
  return writeBufferBytes
}

function checkedIdsInMemory (idsInMemory = DEFAULT_IDS_IN_MEMORY): number {
  if (!Number.isSafeInteger(idsInMemory) || idsInMemory < 1 || idsInMemory > MAX_IDS_IN_MEMORY) {
    throw new LedgerError('INVALID_FIELD', `idsInMemory is a whole number from 1 to ${MAX_IDS_IN_MEMORY}`, { field: 'idsInMemory' })
  }
  return idsInMemory
}

function chainName (user: UserId): string {
  return `chain/${user}`
}

export class Ledger {
  /** Nothing outside the ledger touches the store: local cores, chains and served cores go through its methods. */
  private readonly store: Corestore
  readonly crypto: CryptoProvider
  readonly institution: InstitutionId | undefined
  private readonly catalog: Catalog
  private readonly erased: ErasedLeaves
  private registryFeed: RegistryFeed | undefined
  private readonly chains = new OpenChains()
  private readonly changes = new ChainChanges()
  /** Enrolments under way, by user: a concurrent second one waits for the first, and never appends a second genesis. */
  private readonly enrolling = new Map<UserId, Promise<UserChain>>()
  private readonly pool: VerifyPool
  /** Discovery keys (hex) of the local cores (local-cores.ts): never served to a peer. */
  private readonly localKeys: ReadonlySet<string>
  private readonly continuations: Continuations
  private readonly idsInMemory: number
  private closed = false

  private constructor (store: Corestore, catalog: Catalog, erased: ErasedLeaves, localKeys: ReadonlySet<string>, opts: LedgerOptions) {
    this.store = store
    this.localKeys = localKeys
    this.catalog = catalog
    this.erased = erased
    this.crypto = opts.crypto ?? sodiumProvider
    this.institution = opts.institution
    this.pool = new VerifyPool(opts.verifyWorkers)
    this.idsInMemory = checkedIdsInMemory(opts.idsInMemory)
    this.continuations = new Continuations({
      store,
      catalog,
      erased,
      institution: opts.institution,
      chain: async (user) => await this.chain(user),
      openChain: async (core, layout) => await this.openChain(core, layout),
      replace: async (user, chain) => { await this.chains.replace(user, chain) },
      registry: () => this.registry.state,
      held: heldCoreOpener(store)
    })
  }

  static async open (opts: LedgerOptions): Promise<Ledger> {
    const writeBufferBytes = checkedWriteBuffer(opts.writeBufferBytes)
    checkedIdsInMemory(opts.idsInMemory)
    await mkdir(opts.dir, { recursive: true, mode: 0o700 })
    const store = new Corestore(Hypercore.defaultStorage(opts.dir, { writeBufferSize: writeBufferBytes }), { active: false })
    try {
      await store.ready()
      const catalog = await Catalog.open(localCoresOf(store), {
        path: join(opts.dir, CATALOG_CHECKPOINT_FILE),
        ...(opts.catalogCheckpointEvery === undefined ? {} : { every: opts.catalogCheckpointEvery }),
        ...(opts.warn === undefined ? {} : { warn: opts.warn })
      })
      const erased = await ErasedLeaves.open(localCoresOf(store))
      // Erased blocks whose scrub a stop cut short: off the disk before anything else runs.
      await scrubUnfinished(store, erased)
      const ledger = new Ledger(store, catalog, erased, await localDiscoveryKeys(store), opts)
      if (catalog.registryKey !== undefined) {
        ledger.registryFeed = await RegistryFeed.open(store, catalog.registryKey, ledger.crypto)
      }
      return ledger
    } catch (err) {
      // Release the store (and its RocksDB lock) so the directory can be opened again.
      await store.close().catch(() => {})
      throw storeOpenError(err, opts.dir)
    }
  }

  /** The registry; BAD_REGISTRY until one is created or opened. */
  get registry (): RegistryFeed {
    if (this.registryFeed === undefined) throw new LedgerError('BAD_REGISTRY', 'this ledger has no registry yet')
    return this.registryFeed
  }

  get hasRegistry (): boolean { return this.registryFeed !== undefined }

  /** The catalog length its checkpoint covered when the ledger opened (0: the catalog was read in full), or has covered since. */
  get catalogCheckpointLength (): number { return this.catalog.checkpointLength }

  /** Verification jobs waiting on or running in the worker pool (the node's metrics report it). */
  get verifyQueueDepth (): number { return this.pool.queued }

  /** Verification worker threads configured (0: everything is checked on the calling thread). */
  get verifyWorkers (): number { return this.pool.size }

  /** Whether a verification worker has started and takes jobs (false with none configured). */
  get verifyWorkersReady (): boolean { return this.pool.ready }

  /**
   * Starts the verification workers now rather than on first use: a node that replicates checks every block it
   * fetches on them, and a worker takes a while to start (ingest checks on the calling thread until one is up).
   */
  warmVerifyWorkers (): void { this.pool.warm() }

  /**
   * Creates the empty registry this node hosts, bound to the governance
   * public key (the store never holds the governance secret). Its block 0 is
   * the `consortium` entry the governance key signs elsewhere for
   * (registry.key, 0), appended with `registry.appendSigned`.
   */
  async createRegistryCore (governanceKey: Uint8Array): Promise<RegistryFeed> {
    this.assertOpen()
    if (this.registryFeed !== undefined) throw new LedgerError('BAD_REGISTRY', 'this ledger already has a registry')
    const feed = await RegistryFeed.create(this.store, governanceKey, this.crypto)
    await this.catalog.setRegistry(feed.key)
    this.registryFeed = feed
    return feed
  }

  /**
   * Creates the registry this node hosts and its `consortium` block, signed
   * with `governance` in memory: the caller holds the governance key pair,
   * the store gets only its public key (see createRegistryCore).
   */
  async createRegistry (governance: SigningKeyPair, name: string): Promise<RegistryFeed> {
    const feed = await this.createRegistryCore(governance.publicKey)
    await feed.append('consortium', { name, governance: governance.publicKey }, governance)
    return feed
  }

  /** Follows an existing registry by key (blocks arrive by replication). */
  async followRegistry (key: Uint8Array): Promise<RegistryFeed> {
    this.assertOpen()
    if (this.registryFeed !== undefined) throw new LedgerError('BAD_REGISTRY', 'this ledger already has a registry')
    const feed = await RegistryFeed.open(this.store, key, this.crypto)
    await this.catalog.setRegistry(feed.key)
    this.registryFeed = feed
    return feed
  }

  /**
   * A session of one of the node's local cores (local-cores.ts), ready: never
   * replicated, never served. The caller closes the session; the ledger
   * closes the store.
   */
  async localCore (name: LocalCoreName): Promise<Hypercore> {
    this.assertOpen()
    return await openLocalCore(this.store, name)
  }

  /**
   * The key of the core stored here under this discovery key, if a peer may
   * be served it: null when nothing is stored under it, or when it is a
   * local core (those are this node's own, whoever asks).
   */
  async servableKey (discoveryKey: Uint8Array): Promise<Uint8Array | null> {
    this.assertOpen()
    if (this.localKeys.has(bytesToHex(discoveryKey))) return null
    const auth = await this.store.getAuth(discoveryKey)
    return auth === null ? null : auth.key
  }

  /**
   * A new session of the core with this key (created empty if not stored;
   * not ready yet), for replication to serve or fetch over. Refused for a
   * local core: those never leave this node.
   */
  coreSession (key: Uint8Array): Hypercore {
    this.assertOpen()
    if (this.localKeys.has(bytesToHex(Hypercore.discoveryKey(key)))) {
      throw new LedgerError('INVALID_FIELD', 'a local core is never replicated', { field: 'key' })
    }
    return this.store.get({ key, active: false })
  }

  /** The key the chain of `user` will have when this node enrols them (nothing is written). */
  async chainKeyFor (user: UserId): Promise<Uint8Array> {
    const keyPair = await this.store.createKeyPair(chainName(user))
    return Hypercore.key(keyPair.publicKey)
  }

  /**
   * Enrols a user from their genesis, signed for (chainKeyFor(user), 0). This
   * node becomes the chain's custodian.
   */
  async enrol (genesis: Entry): Promise<UserChain> {
    this.assertOpen()
    if (this.institution === undefined) throw new LedgerError('NOT_CUSTODIAN', 'this ledger runs as no institution, so it cannot enrol users')
    if (genesis.type !== 'genesis') throw new LedgerError('BAD_GENESIS', 'enrolment takes a genesis entry')
    if (genesis.plain.custodian !== this.institution) {
      throw new LedgerError('BAD_GENESIS', `the genesis names ${genesis.plain.custodian} as custodian, this node is ${this.institution}`)
    }
    const user = userIdFromKey(genesis.plain.user.sign)
    const underWay = this.enrolling.get(user)
    if (underWay !== undefined) {
      // The same user enrolled concurrently (a client's retry): once that ends, this is answered as a retry would be.
      await underWay.catch(() => {})
      return await this.enrol(genesis)
    }
    const enrolment = this.enrolOnce(user, genesis)
    this.enrolling.set(user, enrolment)
    try {
      return await enrolment
    } finally {
      this.enrolling.delete(user)
    }
  }

  private async enrolOnce (user: UserId, genesis: Entry): Promise<UserChain> {
    if (!this.catalog.has(user)) {
      const chain = await this.openChain(this.store.get({ name: chainName(user), active: false }))
      if (chain.length === 0) return await this.writeGenesis(user, chain, genesis)
      // A crash between writing the genesis and listing the chain leaves it unlisted: list it now.
      await this.catalog.addChain(user, chain.key)
      this.changes.emit({ user, length: chain.length, kind: 'enrol' })
      this.chains.add(user, chain)
    }
    // Enrolled already: a retry of the same genesis is answered with the chain, anything else refused.
    const chain = await this.chain(user)
    const stored = chain.length > 0 ? await chain.get(0) : null
    if (stored !== null && equal(encodeEntryBody(stored), encodeEntryBody(genesis))) return chain
    throw new LedgerError('ALREADY_ENROLLED', `user ${user} already has a chain here`)
  }

  private async writeGenesis (user: UserId, chain: UserChain, genesis: Entry): Promise<UserChain> {
    try {
      await chain.append(genesis, 0)
    } catch (err) {
      await chain.close()
      if (err instanceof LedgerError && err.code === 'BAD_SIGNATURE') {
        throw new LedgerError('BAD_GENESIS', 'the genesis is not signed by the user for this chain\'s key and position 0', { cause: err })
      }
      throw err
    }
    await this.catalog.addChain(user, chain.key)
    this.chains.add(user, chain)
    this.changes.emit({ user, length: chain.length, kind: 'enrol' })
    return chain
  }

  /** Starts holding a replica of a chain by key (its blocks arrive by replication). */
  async replicaOf (user: UserId, key: Uint8Array): Promise<UserChain> {
    this.assertOpen()
    await this.catalog.addChain(user, key)
    return await this.chain(user)
  }

  /** The chain of `user`, opened on first use; UNKNOWN_CHAIN if this node holds none. */
  async chain (user: UserId): Promise<UserChain> {
    this.assertOpen()
    const key = this.catalog.chainKeyOf(user)
    if (key === undefined) throw new LedgerError('UNKNOWN_CHAIN', `no chain is held here for user ${user}`)
    const open = async (): Promise<UserChain> => await this.openChain(this.store.get({ key, active: false }))
    let chain = await this.chains.ask(user, open)
    // Hypercore closes a core by itself when it meets a conflicting signed head. Until the map forgets it (on its close
    // event), such a chain would be handed out: every read of it empty, and a verification of it a valid chain of length
    // 0. It is waited for and opened again from disk instead.
    for (let reopened = 0; chain.coreClosed && reopened < 3; reopened++) {
      await chain.closingDone()
      this.chains.forgetIf(user, chain)
      chain = await this.chains.ask(user, open)
    }
    return chain
  }

  /** Opens a chain's core as a UserChain whose growth is told to `onChange` subscribers, once the catalog lists it. */
  private async openChain (core: Hypercore, layout?: ChainLayout): Promise<UserChain> {
    // The callback may run before open returns (an ingest while opening): it then has no chain yet to read the keys from.
    const holder: { chain?: UserChain } = {}
    const opened = holder.chain = await UserChain.open(core, this.registry, this.erased, this.crypto, (kind, length) => {
      // Unlisted while its genesis is written: enrolment tells that change itself. A closed old core tells nothing.
      const user = core.key === null ? undefined : this.catalog.userOf(core.key)
      if (user === undefined || this.catalog.closedChain(core.key!) !== undefined) return
      if (holder.chain !== undefined) this.noteSignKey(user, holder.chain)
      this.changes.emit({ user, length, kind })
    }, { layout, held: heldCoreOpener(this.store), pool: this.pool, idsInMemory: this.idsInMemory })
    const user = core.key === null ? undefined : this.catalog.userOf(core.key)
    if (user !== undefined) this.noteSignKey(user, opened)
    return opened
  }

  /** After a rekey was folded: records the user's signing key in force, so a phone connecting with it is known after a restart too. */
  private noteSignKey (user: UserId, chain: UserChain): void {
    const current = chain.user
    if (current === undefined || current.generation <= this.catalog.signGenerationOf(user)) return
    this.catalog.noteSignKey(user, current.sign, current.generation).catch(() => {}) // written again at the chain's next change
  }

  /**
   * The user a signing key belongs to now (a phone's libp2p identity): a
   * rekeyed user's key in force, or a generation-0 key of a user held here
   * who never rekeyed. Undefined for a key the user rotated out.
   */
  userOfSignKey (sign: Uint8Array): UserId | undefined {
    const rekeyed = this.catalog.userOfSignKey(sign)
    if (rekeyed !== undefined) return rekeyed
    const user = userIdFromKey(sign)
    return this.catalog.has(user) && this.catalog.signGenerationOf(user) === 0 ? user : undefined
  }

  /** What the user signs to move their chain here: `{ key, length, plain }` (continuation.ts; creates nothing). */
  async offerContinuation (user: UserId): Promise<ContinuationOffer> {
    this.assertOpen()
    return await this.continuations.offer(user)
  }

  /** Moves the user's chain here with their signed migrate for the offer; a retry answers the same chain (continuation.ts). */
  async continueChain (user: UserId, migrate: Entry): Promise<UserChain> {
    this.assertOpen()
    const chain = await this.continuations.continueChain(user, migrate)
    // The migrate was appended before the catalog listed the new core, so its append told nobody: the node announces from this.
    this.changes.emit({ user, length: chain.length, kind: 'append' })
    return chain
  }

  /** On a replica, before fetching a continuation whose manifest and migrate arrived: copies its blocks below N from the chain held here. */
  async prefillContinuation (user: UserId, key: Uint8Array): Promise<boolean> {
    this.assertOpen()
    return await this.continuations.prefill(user, key)
  }

  /** On a replica: the continuation `key` becomes the user's chain once it arrived to its migrate and verified whole. */
  async followContinuation (user: UserId, key: Uint8Array): Promise<UserChain | undefined> {
    this.assertOpen()
    const before = this.catalog.chainKeyOf(user)
    const chain = await this.continuations.follow(user, key)
    if (chain !== undefined && before !== undefined && !equal(before, chain.key)) this.changes.emit({ user, length: chain.length, kind: 'ingest' })
    return chain
  }

  /** For a core the user's chain moved away from: its user, the length it is closed at, and its successor. */
  closedChain (key: Uint8Array): ClosedChain | undefined { return this.catalog.closedChain(key) }

  /**
   * Calls `listener` on every change to a chain held here — an append
   * written here, blocks fetched from a peer and accepted, an enrolment —
   * with `{ user, length, kind }` (chain-changes.ts); returns the function
   * that stops it. The one way to follow chains: the network announces heads
   * from it, the query index indexes from it.
   */
  onChange (listener: ChainChangeListener): () => void {
    return this.changes.subscribe(listener)
  }

  /**
   * Runs `fn` with the user's chain and, if the chain was not open before
   * and nobody asked for it (`chain()`) while `fn` ran, closes it after:
   * for passes over every chain (the query index's catch-up and rebuild),
   * which would otherwise leave each one open (20–30 KB apiece) until
   * closeIdle, or for good where nothing calls it.
   */
  async withChain<T> (user: UserId, fn: (chain: UserChain) => Promise<T>): Promise<T> {
    return await this.chains.visit(user, async () => await this.chain(user), fn)
  }

  /**
   * Calls `listener` for every chain this ledger opens from now on (asked
   * for, enrolled or replicated), with the chain; returns the function that
   * stops it. A follower of appends attaches to each core here, since a
   * chain closed when idle comes back as a new core. With `alreadyOpen`, the
   * chains open now are handed over too (soon after, once each has opened),
   * so a listener may see one chain twice: attach idempotently.
   */
  onChainOpened (listener: ChainOpenedListener, opts: { alreadyOpen?: boolean } = {}): () => void {
    return this.chains.onOpened(listener, opts)
  }

  /** Chains open in memory now. */
  get openChainCount (): number { return this.chains.size }

  /**
   * Closes the chains nobody has asked for (`chain()`) in the last `idleMs`
   * and that have nothing under way, so a node holding many chains keeps
   * only the busy ones in memory (an open core costs 20–30 KB). The next
   * `chain()` reopens one from disk. So a caller must not keep a UserChain
   * across a wait longer than `idleMs`: ask the ledger again. Returns how
   * many were closed.
   */
  async closeIdle (idleMs: number): Promise<number> {
    return await this.chains.closeIdle(idleMs)
  }

  /**
   * Each chain's key and the length it has on disk (its last signed head),
   * read from storage in one batch without opening the chains: open cores
   * cost memory (20–30 KB each), so a pass over every chain — the query
   * index catching up after a restart — asks this first and opens only the
   * chains that grew. Length 0 for a chain with no head yet; undefined for a
   * user whose chain is not held here. A chain open in this process may be
   * ahead by an append under way.
   */
  async storedLengths (users: readonly UserId[]): Promise<Map<UserId, StoredLength | undefined>> {
    this.assertOpen()
    const held = this.heldKeys(users)
    const read = await readStoredLengths(this.store, held.map((h) => h.key))
    const lengths = new Map<UserId, StoredLength | undefined>(users.map((user) => [user, undefined]))
    held.forEach(({ user }, i) => { lengths.set(user, read[i]) })
    return lengths
  }

  /**
   * Each held chain's signed head as stored, and how many blocks from 0 are
   * held without a gap (stored-heads.ts), read in one batch without opening
   * the chains — for the head log a node serves its peers, seeded at start
   * from every chain it holds. Undefined for a user whose chain is not held
   * here or has no signed head yet. A chain open in this process may be
   * ahead by an append under way.
   */
  async storedHeads (users: readonly UserId[]): Promise<Map<UserId, StoredChainHead | undefined>> {
    this.assertOpen()
    const held = this.heldKeys(users)
    const read = await readStoredHeads(this.store, held.map((h) => h.key))
    const heads = new Map<UserId, StoredChainHead | undefined>(users.map((user) => [user, undefined]))
    held.forEach(({ user }, i) => { heads.set(user, read[i]) })
    return heads
  }

  /** The users of `users` whose chain is held here, with its key. */
  private heldKeys (users: readonly UserId[]): Array<{ user: UserId, key: Uint8Array }> {
    return users.flatMap((user) => {
      const key = this.catalog.chainKeyOf(user)
      return key === undefined ? [] : [{ user, key }]
    })
  }

  /** The user whose chain has this key, if this node holds it. */
  userOfChain (key: Uint8Array): UserId | undefined { return this.catalog.userOf(key) }

  hasChain (user: UserId): boolean { return this.catalog.chainKeyOf(user) !== undefined }
  users (): UserId[] { return this.catalog.users() }
  get chainCount (): number { return this.catalog.chainCount }

  /** Full integrity report of a user's chain against the registry this node has. */
  async verify (user: UserId): Promise<ChainReport> {
    const chain = await this.chain(user)
    await chain.settled()
    await this.registry.refresh()
    return await chain.verify(this.registry.state, this.pool)
  }

  /**
   * Resolves once no erased block waits for a whole-store sweep running in
   * the background (scrub-erased.ts): their bytes are then in no file of the
   * store. close() waits for it too.
   */
  async scrubsSettled (): Promise<void> {
    await this.erased.settled()
  }

  /**
   * Runs `fn` with the store quiesced, for a backup: reads and writes under
   * way finish, RocksDB is suspended (its log flushed, compactions paused),
   * and every later read or write waits until `fn` ends, so the files under
   * the store's directory hold one point in time while `fn` copies them. A
   * write that waited is acknowledged after `fn`, never before.
   */
  async quiesced<T> (fn: () => Promise<T>): Promise<T> {
    this.assertOpen()
    await this.store.suspend()
    try {
      return await fn()
    } finally {
      await this.store.resume()
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.chains.closeAll()
    await this.registryFeed?.close()
    await this.catalog.close()
    await this.erased.close()
    await this.store.close()
    await this.pool.close()
  }

  private assertOpen (): void {
    if (this.closed) throw new LedgerError('CLOSED', 'the ledger is closed')
  }
}

/** The ledger's store, for tests that write raw cores or replicate a whole store (re-exported by `@healthchain/ledger/testing` only). */
export function storeOf (ledger: Ledger): Corestore {
  return ledger['store']
}
