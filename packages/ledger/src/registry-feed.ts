/**
 * The registry Hypercore on disk. Its feed key pair IS the governance key
 * pair, so only the governance key can append; each block also carries the
 * governance key's domain-separated signature (see core's registry.ts), so a
 * registry entry stands on its own when it travels without the tree.
 *
 * `RegistryFeed.open` replays and verifies every block into a RegistryState;
 * `refresh()` applies blocks that arrived later by replication.
 */
import Hypercore from 'hypercore'
import type Corestore from 'corestore'
import {
  REGISTRY_VERSION, RegistryState, decodeRegistryEntry, encodeRegistryEntry, newEntryId, signRegistryEntry,
  type CryptoProvider, type RegistryEntry, type RegistryPlainByType, type RegistryEntryType, type SigningKeyPair, type UnsignedRegistryEntry
} from '@healthchain/core'
import { LedgerError, asLedgerError } from './errors.js'

export class RegistryFeed {
  readonly core: Hypercore
  readonly state: RegistryState
  private readonly crypto: CryptoProvider
  private readonly listeners = new Set<() => void>()
  /** Tail of the queue of refreshes and appends (never rejects). */
  private refreshing: Promise<void> = Promise.resolve()

  private constructor (core: Hypercore, crypto: CryptoProvider) {
    this.core = core
    this.crypto = crypto
    this.state = new RegistryState(core.key!)
  }

  get key (): Uint8Array { return this.core.key! }
  get length (): number { return this.state.length }

  /** Creates the registry with its consortium block; the store keeps the governance key pair for this core. */
  static async create (store: Corestore, governance: SigningKeyPair, name: string, crypto: CryptoProvider): Promise<RegistryFeed> {
    const core = store.get({ keyPair: { publicKey: governance.publicKey, secretKey: governance.secretKey }, active: false })
    await core.ready()
    if (core.length > 0) {
      await core.close()
      throw new LedgerError('BAD_REGISTRY', 'a registry for this governance key already exists in this store')
    }
    const feed = new RegistryFeed(core, crypto)
    await feed.append('consortium', { name, governance: governance.publicKey }, governance)
    return feed
  }

  /** Opens a registry by key (written here or replicated) and verifies every stored block. */
  static async open (store: Corestore, key: Uint8Array, crypto: CryptoProvider): Promise<RegistryFeed> {
    const core = store.get({ key, active: false })
    await core.ready()
    const feed = new RegistryFeed(core, crypto)
    try {
      await feed.refresh()
    } catch (err) {
      await core.close()
      throw err
    }
    return feed
  }

  /** Applies blocks appended since the last refresh (in order; stops at the first block not stored yet). */
  refresh (): Promise<void> {
    return this.serial(async () => await this.applyStored())
  }

  /**
   * Runs `fn` after every earlier refresh and append has settled: an append
   * signs for the core's next position, so two appends (or an append and a
   * refresh applying its block) must never interleave.
   */
  private serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.refreshing.then(fn)
    this.refreshing = run.then(() => {}, () => {})
    return run
  }

  /** Calls `listener` after the state gains entries (appended here or arrived by replication); returns an unsubscribe. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private notify (): void {
    for (const listener of this.listeners) {
      try {
        listener()
      } catch {
        // A listener's failure is its own; the registry has already changed.
      }
    }
  }

  private async applyStored (): Promise<void> {
    const before = this.state.length
    try {
      await this.applyStoredBlocks()
    } finally {
      if (this.state.length > before) this.notify()
    }
  }

  private async applyStoredBlocks (): Promise<void> {
    while (this.state.length < this.core.length) {
      const seq = this.state.length
      const block = await this.core.get(seq, { wait: false })
      if (block === null) return
      try {
        this.state.apply(decodeRegistryEntry(block), this.crypto)
      } catch (err) {
        throw new LedgerError('BAD_REGISTRY', `registry block ${seq} is invalid`, { cause: asLedgerError(err) })
      }
    }
  }

  /**
   * Signs and appends a registry entry with the governance key. The entry is
   * applied to the state first, so a conflicting entry is refused before any
   * block is written.
   */
  async append<T extends RegistryEntryType> (type: T, plain: RegistryPlainByType[T], governance: SigningKeyPair, opts: { time?: number } = {}): Promise<RegistryEntry> {
    return await this.appendAtNext((seq) => {
      const unsigned = { v: REGISTRY_VERSION, type, id: newEntryId(this.crypto), time: opts.time ?? Date.now(), plain } as UnsignedRegistryEntry
      return signRegistryEntry(unsigned, { chainKey: this.key, seq }, governance.secretKey, this.crypto)
    })
  }

  /**
   * Appends a registry entry the governance key signed elsewhere (the CLI on
   * the operator's machine) for this registry's next position: checked like
   * any block (governance signature at that position, transition rules),
   * so this store's holding the core's key pair authorises nothing by itself.
   * BAD_SIGNATURE (wrong key or position: a stale entry must be re-signed),
   * REGISTRY_CONFLICT, NOT_CUSTODIAN (the registry is not writable here).
   */
  async appendSigned (entry: RegistryEntry): Promise<RegistryEntry> {
    return await this.appendAtNext(() => entry)
  }

  /** One at a time: the entry `entryFor(next position)` gives, checked against the state, then written and applied. */
  private async appendAtNext (entryFor: (seq: number) => RegistryEntry): Promise<RegistryEntry> {
    if (!this.core.writable) throw new LedgerError('NOT_CUSTODIAN', 'this store does not hold the governance key for the registry')
    return await this.serial(async () => {
      await this.applyStored()
      let entry: RegistryEntry
      try {
        entry = entryFor(this.core.length)
        this.state.check(entry, this.crypto)
      } catch (err) {
        throw asLedgerError(err)
      }
      await this.core.append(encodeRegistryEntry(entry))
      this.state.apply(entry, this.crypto)
      this.notify()
      return entry
    })
  }

  async close (): Promise<void> {
    await this.refreshing
    await this.core.close()
  }
}
