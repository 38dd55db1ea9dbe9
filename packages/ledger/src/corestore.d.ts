/**
 * Hand-written declarations for the parts of corestore 7.12.5 that healthchain uses (CommonJS,
 * without types of its own), checked against its installed index.js and hypercore-storage/index.js.
 * Members not listed here exist but are deliberately untyped. Its cores are typed in hypercore.d.ts.
 *
 * Import as `import Corestore from 'corestore'`.
 */

declare module 'corestore' {
  import { EventEmitter } from 'node:events'
  import Hypercore from 'hypercore'

  namespace Corestore {
    /** Options of `new Corestore(dir, opts)`. Unknown keys are silently ignored. */
    interface Options {
      /**
       * 32-byte primary key (seed of every named key pair); throws unless `unsafe: true`;
       * ready() rejects "Another corestore is stored here" if the dir holds another.
       */
      primaryKey?: Uint8Array
      /** Acknowledge that passing `primaryKey` is unsafe. */
      unsafe?: boolean
      /** Default true. false: new replicate() streams do not get open cores attached automatically (cores are still served when the peer asks). */
      active?: boolean
      /** 32-byte namespace for names (default 32 zero bytes). */
      namespace?: Uint8Array
      /** false = read-only store (cores not writable). */
      writable?: boolean
      /** Open RocksDB read-only and make cores non-writable. */
      readOnly?: boolean
      /** Manifest version for new named cores (default 1). */
      manifestVersion?: number
      /** Whether suspend() actually suspends (default true except on Android). */
      suspend?: boolean
      /** Shared block cache. */
      globalCache?: unknown
      /** Passed to hypercore-storage. */
      id?: unknown
      /** Passed to hypercore-storage. */
      allowBackup?: boolean
      /** Passed to hypercore-storage. */
      wait?: boolean
      /** Passed to hypercore-storage. */
      treeCache?: unknown
    }

    /**
     * Options of `store.get()`. Exactly one of name / key / keyPair / manifest / discoveryKey
     * identifies the core (`name` wins over keyPair). Core-level options (createIfMissing,
     * notDownloadingLinger, keyPair…) are silently ignored when the core is already open in this store.
     */
    interface GetOptions {
      /** Named writable core: key pair derived from primaryKey + namespace + name; alias stored on disk. */
      name?: string
      /** Core key (32 bytes, or its z32/hex string): opens/creates a core by key (read-only unless we hold the key pair). */
      key?: Uint8Array | string
      /** Open an existing core by discovery key only; ready() rejects STORAGE_EMPTY if not stored (safe: the store still closes). */
      discoveryKey?: Uint8Array
      /** Explicit signing key pair (ignored when `name` is given). */
      keyPair?: Hypercore.KeyPairInput
      /** Explicit manifest. */
      manifest?: Hypercore.ManifestInput
      /** Block encoding for this session. */
      valueEncoding?: Hypercore.ValueEncoding
      /** Default true; false: this session does not make the core replicate/announce. */
      active?: boolean
      /** Take an exclusive write lock on the core (waits until other exclusive sessions close). */
      exclusive?: boolean
      /** Default wait option of get() on this session. */
      wait?: boolean
      /** Default get() timeout (ms) on this session. */
      timeout?: number
      /** false: read-only session. */
      writable?: boolean
      /**
       * false: do not create a missing core. GOTCHA: with `key`, ready() rejects STORAGE_EMPTY
       * AND a later store.close() rejects too; prefer `{ discoveryKey }` or storage.hasCore().
       */
      createIfMissing?: boolean
      /** ms an idle served core stays open after it stops downloading (default 20–40 s). */
      notDownloadingLinger?: number
      /** Default true. */
      allowFork?: boolean
      /** Encryption key or provider (unused by us). */
      encryption?: unknown
    }

    /** What storage knows about a stored core (`store.getAuth()`). */
    interface CoreAuth {
      /** Core key. */
      key: Buffer
      /** Discovery key. */
      discoveryKey: Buffer
      /** Manifest, if known. */
      manifest: Hypercore.Manifest | null
      /** Stored signing key pair (named/own cores) or null (replicas). Contains the secret key! */
      keyPair: Hypercore.KeyPair | null
      /** Stored encryption key, if any. */
      encryptionKey: Buffer | null
    }
  }

  /** A collection of Hypercores in one RocksDB directory, with named keys derived from one seed. */
  class Corestore extends EventEmitter {
    /** `storage`: directory path (or an existing hypercore-storage). */
    constructor (storage: string | Hypercore.CoreStorage, opts?: Corestore.Options)

    /** The hypercore-storage (RocksDB) instance; shared by sessions/namespaces. */
    readonly storage: Hypercore.CoreStorage
    /** 32-byte seed, null until ready. Persisted on first open. */
    readonly primaryKey: Buffer | null
    /** 32-byte namespace of this store/session (root: 32 zero bytes). */
    readonly ns: Buffer
    /** Whether this store/session attaches cores to new streams automatically. */
    readonly active: boolean
    /** Whether ready() completed. */
    readonly opened: boolean
    /** Whether close() completed. */
    readonly closed: boolean

    /** Open storage and load/create the seed. Called by the constructor too. */
    ready (): Promise<void>
    /** Close all sessions, namespaces, cores, streams we created, and the DB. */
    close (): Promise<void>
    /** Waits for reads and writes under way, then suspends RocksDB (WAL flushed, background work paused); later reads and writes wait for resume(). */
    suspend (): Promise<void>
    resume (): Promise<void>
    /** Open a session on a core (sync; await `core.ready()`). */
    get<T = Buffer>(opts: Corestore.GetOptions | Uint8Array | string): Hypercore<T>
    /** Derive the key pair of a named core without opening or creating it. Core key = `Hypercore.key(kp.publicKey)`. */
    createKeyPair (name: string, namespace?: Uint8Array): Promise<Hypercore.KeyPair>
    /** Replication stream over which every (active) core of this store can replicate; remote requests open stored cores on demand. */
    replicate (isInitiatorOrStream: boolean | Hypercore.ProtocolStream, opts?: Hypercore.ReplicateOptions): Hypercore.ProtocolStream
    /** A session with namespace BLAKE2b(ns ‖ name): same DB and streams, different named keys. */
    namespace (name: string | Uint8Array, opts?: Omit<Corestore.Options, 'primaryKey' | 'unsafe'>): Corestore
    /** Another handle on the same store (closing it closes only its sessions). */
    session (opts?: Omit<Corestore.Options, 'primaryKey' | 'unsafe'>): Corestore
    /** Discovery keys of every stored core (opened or not); with a namespace, only names aliased in it. */
    list (namespace?: Uint8Array): AsyncIterable<Buffer>
    /** Key, manifest and (for own cores) key pair of a stored core by discovery key; null if absent. */
    getAuth (discoveryKey: Uint8Array): Promise<Corestore.CoreAuth | null>

    /** Store opened. */
    on (event: 'ready', listener: () => void): this
    /** Store closed. */
    on (event: 'close', listener: () => void): this
  }

  export default Corestore
}
