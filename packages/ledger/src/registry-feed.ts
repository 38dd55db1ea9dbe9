/**
 * The registry Hypercore on disk. The host node appends its blocks with a
 * key pair of its own (the store's named core `registry`), never the
 * governance key: every block carries the governance key's domain-separated
 * signature (see core's registry.ts), and that signature is the whole
 * authority, so the host's store holds nothing that can make an entry valid.
 *
 * The core is created with a manifest whose `userData` names the governance
 * public key (core's registry-core.ts), so the registry key also fixes which
 * governance key block 0 must name: a replica learns it from the manifest
 * (checked against the key by Hypercore) before it applies block 0.
 *
 * `RegistryFeed.create` makes the empty core; its block 0 (`consortium`) is
 * appended like every other entry, signed elsewhere (`appendSigned`) or by
 * a key the caller holds (`append`). `RegistryFeed.open` replays and
 * verifies every block into a RegistryState; `refresh()` applies blocks that
 * arrived later by replication.
 */
import type Hypercore from 'hypercore'
import type Corestore from 'corestore'
import {
  REGISTRY_MANIFEST_VERSION, REGISTRY_VERSION, RegistryState, decodeRegistryEntry, encodeRegistryEntry, governanceKeyOfRegistryCore,
  newEntryId, registryCoreUserData, signRegistryEntry,
  type CryptoProvider, type RegistryEntry, type RegistryPlainByType, type RegistryEntryType, type SigningKeyPair, type UnsignedRegistryEntry
} from '@healthchain/core'
import { LedgerError, asLedgerError } from './errors.js'

/** The store's name for the registry core this node hosts: its key pair is derived from the store's primary key, like a chain's. */
export const REGISTRY_CORE_NAME = 'registry'

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

  /**
   * Creates the empty registry core this store hosts, bound to
   * `governanceKey` (the public key only: the store never sees the secret).
   * Block 0 is the `consortium` entry the governance key signs for
   * (feed.key, 0). BAD_REGISTRY if this store hosts a registry already.
   */
  static async create (store: Corestore, governanceKey: Uint8Array, crypto: CryptoProvider): Promise<RegistryFeed> {
    const keyPair = await store.createKeyPair(REGISTRY_CORE_NAME)
    const manifest = {
      version: REGISTRY_MANIFEST_VERSION,
      signers: [{ signature: 'ed25519' as const, publicKey: keyPair.publicKey }],
      userData: registryCoreUserData(governanceKey)
    }
    let core: Hypercore
    try {
      core = store.get({ name: REGISTRY_CORE_NAME, manifest, active: false })
      await core.ready()
    } catch (err) {
      // A store hosts one registry: its named core exists already, bound to another governance key.
      throw new LedgerError('BAD_REGISTRY', 'this store hosts a registry already', { cause: err })
    }
    if (core.length > 0) {
      await core.close()
      throw new LedgerError('BAD_REGISTRY', 'this store hosts a registry already')
    }
    const feed = new RegistryFeed(core, crypto)
    feed.state.bindGovernance(governanceKey)
    return feed
  }

  /** Opens a registry by key (written here or replicated) and verifies every stored block. */
  static async open (store: Corestore, key: Uint8Array, crypto: CryptoProvider): Promise<RegistryFeed> {
    const core = store.get({ key, active: false })
    await core.ready()
    const feed = new RegistryFeed(core, crypto)
    try {
      // Known already if any block is stored (or this store hosts the core): refused here if it binds no governance key.
      if (core.manifest !== null) feed.bindToManifest()
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

  /**
   * Binds the state to the governance key the core's manifest commits to.
   * Hypercore has checked the manifest against the core key before storing
   * any block, so block 0 is judged against the key the registry key names.
   */
  private bindToManifest (): void {
    try {
      this.state.bindGovernance(governanceKeyOfRegistryCore(this.core.manifest?.userData))
    } catch (err) {
      throw new LedgerError('BAD_REGISTRY', 'the registry core is not bound to a governance key (a registry made by an older version: create the consortium again)', { cause: asLedgerError(err) })
    }
  }

  private async applyStoredBlocks (): Promise<void> {
    while (this.state.length < this.core.length) {
      const seq = this.state.length
      const block = await this.core.get(seq, { wait: false })
      if (block === null) return
      if (seq === 0) this.bindToManifest()
      try {
        this.state.apply(decodeRegistryEntry(block), this.crypto)
      } catch (err) {
        throw new LedgerError('BAD_REGISTRY', `registry block ${seq} is invalid`, { cause: asLedgerError(err) })
      }
    }
  }

  /**
   * Signs a registry entry with `governance` (a key the caller holds, never
   * this store) and appends it. The entry is checked against the state
   * first, so a conflicting entry, or one signed by any key but the
   * governance key, is refused before any block is written (BAD_SIGNATURE,
   * REGISTRY_CONFLICT, NOT_CUSTODIAN).
   */
  async append<T extends RegistryEntryType> (
    type: T, plain: RegistryPlainByType[T], governance: SigningKeyPair, opts: { time?: number } = {}
  ): Promise<RegistryEntry> {
    return await this.appendAtNext((seq) => {
      const unsigned = { v: REGISTRY_VERSION, type, id: newEntryId(this.crypto), time: opts.time ?? Date.now(), plain } as UnsignedRegistryEntry
      return signRegistryEntry(unsigned, { chainKey: this.key, seq }, governance.secretKey, this.crypto)
    })
  }

  /**
   * Appends a registry entry the governance key signed elsewhere (the CLI on
   * the operator's machine) for this registry's next position: checked like
   * any block (governance signature at that position, transition rules):
   * the core's key pair this store holds authorises nothing by itself.
   * BAD_SIGNATURE (wrong key or position: a stale entry must be re-signed),
   * REGISTRY_CONFLICT, NOT_CUSTODIAN (the registry is not writable here).
   */
  async appendSigned (entry: RegistryEntry): Promise<RegistryEntry> {
    return await this.appendAtNext(() => entry)
  }

  /** One at a time: the entry `entryFor(next position)` gives, checked against the state, then written and applied. */
  private async appendAtNext (entryFor: (seq: number) => RegistryEntry): Promise<RegistryEntry> {
    if (!this.core.writable) throw new LedgerError('NOT_CUSTODIAN', 'this store does not host the registry (it holds a replica)')
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
