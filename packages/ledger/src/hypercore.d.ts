/**
 * Hand-written declarations for the parts of hypercore 11.37.1 that healthchain uses (CommonJS,
 * without types of its own). Every member was checked against the installed source in
 * node_modules (index.js, plus lib/{session-state,merkle-tree,verifier,caps,info,download}.js and
 * hypercore-storage/index.js). Members not listed here exist but are deliberately untyped.
 * corestore.d.ts and hypercore-crypto.d.ts declare the two modules that come with it.
 *
 * This file stays over the ~400-line limit of src files on purpose: it declares someone else's
 * API, one module whole, and cutting it in parts would only scatter one namespace.
 *
 * Import as `import Hypercore from 'hypercore'`.
 */

declare module 'hypercore' {
  import { EventEmitter } from 'node:events'

  namespace Hypercore {
    /** An Ed25519 key pair as produced by hypercore-crypto / corestore (Buffers backed by sodium). */
    interface KeyPair {
      /** 32-byte Ed25519 public key. */
      publicKey: Buffer
      /** 64-byte libsodium secret key (seed ‖ public key). */
      secretKey: Buffer
    }

    /** A key pair given as input; without `secretKey` the core is not writable. */
    interface KeyPairInput {
      /** 32-byte Ed25519 public key. */
      publicKey: Uint8Array
      /** 64-byte libsodium secret key. */
      secretKey?: Uint8Array | null
    }

    /** Names accepted by compact-encoding's `c.from()`; an unknown name silently means 'binary'. */
    type ValueEncodingName =
      | 'binary'
      | 'utf-8'
      | 'utf8'
      | 'ascii'
      | 'hex'
      | 'base64'
      | 'json'
      | 'ndjson'
      | 'utf16le'
      | 'utf16-le'
      | 'ucs2'
      | 'ucs-2'

    /** A compact-encoding codec (object with preencode/encode/decode). */
    interface CompactEncoding<T> {
      /** Add the encoded size of `value` to `state.end`. */
      preencode(state: { start: number; end: number; buffer: Buffer | null }, value: T): void
      /** Write `value` into `state.buffer` at `state.start`, advancing it. */
      encode(state: { start: number; end: number; buffer: Buffer | null }, value: T): void
      /** Read a value from `state.buffer` at `state.start`, advancing it. */
      decode(state: { start: number; end: number; buffer: Buffer | null }): T
    }

    /** Value encoding for blocks: a name or a compact-encoding codec. */
    type ValueEncoding = ValueEncodingName | CompactEncoding<unknown>

    /** One signer in a manifest, as stored (normalised by Verifier.createManifest). */
    interface ManifestSigner {
      /** Always 'ed25519'. */
      signature: 'ed25519'
      /** 32-byte signing namespace (default: hypercore's DEFAULT_NAMESPACE, not zeros). */
      namespace: Buffer
      /** 32-byte Ed25519 public key of the signer. */
      publicKey: Buffer
    }

    /** A normalised manifest; the core key is the hash of its encoding (`Hypercore.key(manifest)`). */
    interface Manifest {
      /** Manifest version; corestore creates version 1. */
      version: number
      /** Always 'blake2b'. */
      hash: 'blake2b'
      /** Whether multisig patches are allowed. */
      allowPatch: boolean
      /** Number of signers that must sign. */
      quorum: number
      /** Signers; corestore-created cores have exactly one. */
      signers: ManifestSigner[]
      /** Optional fixed prefix (length + tree hash) that needs no signature. */
      prologue: { hash: Buffer; length: number } | null
      /** Linked cores (version ≥ 2 only). */
      linked: Buffer[] | null
      /** Free user data (version ≥ 2 only). */
      userData: Buffer | null
    }

    /** Manifest as accepted by `Hypercore.key()` / `store.get({ manifest })`. */
    interface ManifestInput {
      /** Defaults to 1. */
      version?: number
      /** Signer public keys (namespace defaults to hypercore's DEFAULT_NAMESPACE). */
      signers: Array<{ publicKey: Uint8Array; namespace?: Uint8Array; signature?: 'ed25519' }>
      /** Defaults to a majority of signers. */
      quorum?: number
      /** Defaults to false. */
      allowPatch?: boolean
      /** Optional unsigned prefix. */
      prologue?: { hash: Uint8Array; length: number } | null
      /** Free user data, hashed into the key (version 2 and later; the registry binds its governance key here). */
      userData?: Uint8Array | null
    }

    /** Result of `append()`: the new totals of the core. */
    interface AppendResult {
      /** New length (number of blocks). */
      length: number
      /** New total byte length of all blocks. */
      byteLength: number
    }

    /** Options for `core.get()`. */
    interface GetOptions {
      /** false: return null at once if the block is not stored locally; true/default: wait for a peer (no timeout unless `timeout`). */
      wait?: boolean
      /** Milliseconds before a waiting get rejects with REQUEST_TIMEOUT; 0/undefined = never. */
      timeout?: number
      /** Decode this block with another encoding than the session's. */
      valueEncoding?: ValueEncoding
      /** Return the raw stored bytes (skip decryption and decoding). */
      raw?: boolean
      /** Re-request the block even if a request is already in flight. */
      force?: boolean
    }

    /** Options for `core.clear()`. */
    interface ClearOptions {
      /** Ask for a `{ blocks }` result; in 11.37.1 `blocks` is never incremented (always 0). */
      diff?: boolean
    }

    /** Options for `core.update()`. */
    interface UpdateOptions {
      /** Wait for a peer to tell us about a newer length (no built-in timeout: race it). */
      wait?: boolean
      /** Also run on a writable core (otherwise update() returns false at once for writers). */
      force?: boolean
    }

    /** Range for `core.download()`; `end: -1` (the default) keeps downloading new blocks forever. */
    interface DownloadRange {
      /** First block index (default 0). */
      start?: number
      /** End index, exclusive; -1 = open-ended (live). */
      end?: number
      /** Alternative to `end`: number of blocks from `start`. */
      length?: number
      /** Explicit block indexes (then start/end are ignored). */
      blocks?: number[]
      /** Ask for the blocks in order from `start` (default false: batches from random places in the range, to spread peers). */
      linear?: boolean
      /** Download in order. */
      linear?: boolean
    }

    /** Handle returned by `core.download()`. */
    interface Download {
      /** Resolves once the request is registered. */
      ready(): Promise<void>
      /** Resolves (true) when every block of the range is stored locally; never for an open-ended range. */
      done(): Promise<boolean>
      /** Cancel the range request. */
      destroy(): void
    }

    /** Result of `core.info()`. */
    interface Info {
      /** Core key (manifest hash). */
      key: Buffer
      /** Discovery key (hash of key). */
      discoveryKey: Buffer
      /** Same as `core.length`. */
      length: number
      /** Same as `core.contiguousLength`. */
      contiguousLength: number
      /** Same as `core.byteLength` (total of all blocks, stored or not). */
      byteLength: number
      /** Same as `core.fork`. */
      fork: number
      /** Encryption padding per block (0 without encryption). */
      padding: number
      /** Always null in 11.37.1 (`info({ storage: true })` reads v10 file fields that no longer exist). */
      storage: null
    }

    /** A node of the Merkle tree (used by `hypercore-crypto.tree`). */
    interface TreeNode {
      /** Flat-tree index. */
      index: number
      /** Total byte size below this node. */
      size: number
      /** 32-byte BLAKE2b hash. */
      hash: Buffer
    }

    /**
     * INTERNAL (not semver-stable): the session's SessionState. Only `signature` is of interest:
     * the head signature as stored, multisig-encoded (68 bytes for one signer: the raw 64-byte
     * Ed25519 signature is at bytes [2, 66)), over `core.signable(length, fork)`.
     */
    interface InternalSessionState {
      /** Current length. */
      readonly length: number
      /** Current fork id. */
      readonly fork: number
      /** Multisig-encoded signature of the current head, or null if none. */
      readonly signature: Buffer | null
      /** The Merkle roots at `length`, kept in memory (updated with `length` and `signature` by each append, and by each verified upgrade on a replica). */
      readonly roots: ReadonlyArray<{ readonly index: number; readonly size: number; readonly hash: Uint8Array }>
    }

    /**
     * The stream returned by `replicate()` (a streamx Duplex: the raw side of a Noise
     * secret stream when created from a boolean). Pipe it to the peer's stream / transport.
     */
    interface ProtocolStream {
      /** The @hyperswarm/secret-stream NoiseSecretStream carrying the protomux (opaque here). */
      readonly noiseStream: unknown
      /** Whether the stream has been destroyed. */
      readonly destroyed: boolean
      /** Pipe into a writable (another ProtocolStream or a Node stream); returns `dest`. */
      pipe<S extends ProtocolStream | NodeJS.WritableStream>(dest: S, cb?: (err: Error | null) => void): S
      /** Write raw bytes (when used as a transport side). */
      write(data: Uint8Array): boolean
      /** End the writable side. */
      end(): void
      /** Tear the stream down. */
      destroy(err?: Error | null): void
      /** Fired when the stream is fully closed. */
      on(event: 'close', listener: () => void): this
      /** Fired on a stream error (e.g. handshake failure). */
      on(event: 'error', listener: (err: Error) => void): this
      /** Other streamx events. */
      on(event: string, listener: (...args: unknown[]) => void): this
      /** One-shot listener. */
      once(event: 'close', listener: () => void): this
      /** One-shot listener for errors. */
      once(event: 'error', listener: (err: Error) => void): this
      /** Other streamx events. */
      once(event: string, listener: (...args: unknown[]) => void): this
    }

    /** Options for `replicate()` / `createProtocolStream()`; the rest go to @hyperswarm/secret-stream. */
    interface ReplicateOptions {
      /** false disables the 5 s Noise keep-alive that is otherwise set. */
      keepAlive?: boolean
      /** Static Noise key pair for this side of the stream. */
      keyPair?: KeyPairInput
    }

    /** Options of `Hypercore.defaultStorage()` (passed to hypercore-storage / RocksDB). */
    interface StorageOptions {
      /** Storage id. */
      id?: unknown
      /** Allow RocksDB backups. */
      allowBackup?: boolean
      /** Open the RocksDB read-only. */
      readOnly?: boolean
      /** Wait for the RocksDB lock instead of failing. */
      wait?: boolean
      /** Tree-node cache. */
      treeCache?: unknown
      /**
       * Bytes of one RocksDB memtable (rocksdb-native's writeBufferSize, default 64 MiB), for each of the store's two
       * column families; each keeps at most two (the one filling, one being flushed).
       */
      writeBufferSize?: number
    }

    /** One core's records as getInfos reads them (Buffers are views into the records read). */
    interface StoredCoreInfo {
      readonly auth: {
        readonly key: Buffer
        readonly manifest: {
          readonly version: number
          readonly signers: ReadonlyArray<{ readonly namespace: Buffer; readonly publicKey: Buffer }>
          /** A continuation core's manifest prologue; null (or absent) for a chain's first core. */
          readonly prologue?: { readonly hash: Buffer; readonly length: number } | null
        } | null
        /** Present for a core this store writes (never read beyond whether it is there). */
        readonly keyPair?: unknown
      } | null
      /** Where the core's records live in the store (`dataPointer` prefixes its keys). */
      readonly core: { readonly dataPointer: number } | null
      /** `signature`: hypercore's multisig encoding of the head signature (null for an unsigned head). */
      readonly head: { readonly fork: number; readonly length: number; readonly rootHash: Buffer; readonly signature: Buffer | null } | null
      /** `contiguousLength`: blocks held from 0 without a gap (written after the blocks, so it may lag; asked for with `hints: true`). */
      readonly hints: { readonly contiguousLength?: number } | null
    }

    /** hypercore-storage's store (one RocksDB). Only the members we use are typed. */
    interface CoreStorage {
      /** Discovery keys of every core stored (`namespace` given: only named cores aliased in it). */
      createDiscoveryKeyStream(namespace?: Uint8Array): AsyncIterable<Buffer>
      /** `{ alias: { namespace, name }, discoveryKey }` for every named core of a namespace (required). */
      createAliasStream(namespace: Uint8Array): AsyncIterable<{ alias: { namespace: Buffer; name: string }; discoveryKey: Buffer }>
      /** Discovery key stored for a name in a namespace, or null. */
      getAlias(alias: { name: string; namespace: Uint8Array }): Promise<Buffer | null>
      /** Whether a core with this discovery key is stored. */
      hasCore(discoveryKey: Uint8Array): Promise<boolean>
      /**
       * What is stored of each core (null where none is), read from RocksDB in
       * two read batches without opening a Hypercore: `head` is the last
       * signed tree head (null before the first append); `auth` (asked for
       * with `auth: true`) holds the manifest — and, for a core this store
       * writes, its key pair, secret key included. Only what we read is typed.
       */
      getInfos(discoveryKeys: Uint8Array[], opts?: { auth?: boolean; head?: boolean; hints?: boolean }): Promise<Array<StoredCoreInfo | null>>
      /**
       * The store's RocksDB: a read batch, flushed with tryFlush(), whose gets resolve to the stored value or null;
       * `stats` counts the read batches and gets it ran (benches count storage reads per write with it).
       */
      readonly db: {
        read(opts?: { autoDestroy?: boolean }): { get(key: Uint8Array): Promise<Buffer | null>; tryFlush(): void }
        readonly stats: { readonly readBatches: number; readonly gets: number }
      }
      /** Close the database. */
      close(): Promise<void>
    }

    /** Events a Hypercore session emits (listeners other than append/truncate register a monitor). */
    interface Events {
      /** The session is open. */
      ready: []
      /** The session closed. */
      close: []
      /** Length grew (local append or a verified remote upgrade); fired once per append() call. */
      append: []
      /** The core was truncated to `ancestors` blocks, new fork id `forkId`. */
      truncate: [ancestors: number, forkId: number]
      /** A replication peer was added (peer object is internal). */
      'peer-add': [peer: unknown]
      /** A replication peer went away. */
      'peer-remove': [peer: unknown]
      /** A block was downloaded and verified. */
      download: [index: number, byteLength: number, from: unknown, req: unknown]
      /** A block was served to a peer. */
      upload: [index: number, byteLength: number, from: unknown]
      /** A peer sent data that failed verification (e.g. INVALID_SIGNATURE / INVALID_CHECKSUM). */
      'verification-error': [err: Error, req: unknown, res: unknown, from: unknown]
      /** A peer sent an invalid request. */
      'invalid-request': [err: Error, req: unknown, from: unknown]
      /**
       * A peer's signed head conflicts with this core's tree: its roots at `length` (≤ this core's
       * length) differ from the local ones, while its signature verifies. Emitted once, after the
       * core was marked frozen on disk and just before hypercore closes every session of it.
       * `proof` is the peer's wire `data` message (read it with tree-audit.ts `conflictingUpgrade`).
       */
      conflict: [length: number, fork: number, proof: unknown]
      /** The manifest became known (e.g. on a replica after the first upgrade). */
      manifest: []
      /** The session moved to another core (key). */
      migrate: [key: Buffer]
    }
  }

  /** A session on a signed append-only log. `T` is the decoded block type (Buffer by default). */
  class Hypercore<T = Buffer> extends EventEmitter {
    /** Hypercore refuses nothing, but blocks above this (15 MiB) fail append() with BAD_ARGUMENT. */
    static readonly MAX_SUGGESTED_BLOCK_SIZE: number

    /**
     * Core key for a manifest, or for a 32-byte signer public key (→ version-1 single-signer
     * manifest, what corestore creates). This is how to get a named core's key without opening it.
     */
    static key (manifestOrPublicKey: Hypercore.ManifestInput | Uint8Array, opts?: { compat?: boolean; version?: number; namespace?: Uint8Array }): Buffer
    /** Discovery key of a core key (BLAKE2b keyed with "hypercore"). */
    static discoveryKey (key: Uint8Array): Buffer
    /** Tree hash at `length` from local tree nodes only (never waits for a peer, unlike `treeHash()`). */
    static treeHashFromStorage (session: Hypercore<unknown>, length?: number): Promise<Buffer>
    /** Open (or pass through) a hypercore-storage RocksDB at `directory`. */
    static defaultStorage (directory: string | Hypercore.CoreStorage, opts?: Hypercore.StorageOptions): Hypercore.CoreStorage
    /** Create a replication stream not bound to any core. */
    static createProtocolStream (isInitiator: boolean | Hypercore.ProtocolStream, opts?: Hypercore.ReplicateOptions): Hypercore.ProtocolStream

    /** Standalone core (we always go through Corestore.get instead): storage dir, optional key, options. */
    constructor (
      storage: string | Hypercore.CoreStorage,
      key?: Uint8Array | string | null,
      opts?: {
        keyPair?: Hypercore.KeyPairInput;
        manifest?: Hypercore.ManifestInput;
        valueEncoding?: Hypercore.ValueEncoding
        createIfMissing?: boolean;
        writable?: boolean;
        active?: boolean;
        wait?: boolean;
        timeout?: number
      }
    )

    /** 32-byte core key = manifest hash (NOT the signer public key). null until ready for `get({ name })`. */
    readonly key: Buffer | null
    /** 32-byte discovery key (what peers announce). null until known. */
    readonly discoveryKey: Buffer | null
    /** z-base-32 encoding of the key, or null. */
    readonly id: string | null
    /** The normalised manifest, or null (a replica learns it from its first upgrade). */
    readonly manifest: Hypercore.Manifest | null
    /** Signing key pair of this session (secretKey only on the writer); null on replicas. */
    readonly keyPair: Hypercore.KeyPair | null
    /** Number of blocks (0 before ready). Unchanged by clear(). */
    readonly length: number
    /** Length up to which the head is signed (equals `length` on the default session). */
    readonly signedLength: number
    /** Number of blocks from 0 stored locally without a gap; drops to `start` after clear(start…). */
    readonly contiguousLength: number
    /** Total bytes of all blocks, stored or not (deprecated upstream in favour of info()); unchanged by clear(). */
    readonly byteLength: number
    /** Fork id, incremented by truncate(). */
    readonly fork: number
    /** Whether append() is possible (we hold the secret key). false before ready. */
    readonly writable: boolean
    /** true until the session is closed. */
    readonly readable: boolean
    /** Whether ready() has completed (false again after close). */
    readonly opened: boolean
    /** Whether close() has completed. */
    readonly closed: boolean
    /** The close promise once close() was called, else null. */
    readonly closing: Promise<void> | null
    /** Currently connected replication peers (internal objects). */
    readonly peers: readonly unknown[]
    /** INTERNAL: session state; see InternalSessionState. null before ready. */
    readonly state: Hypercore.InternalSessionState | null

    /** Resolves when the session is open (rejects e.g. with STORAGE_EMPTY). */
    ready (): Promise<void>
    /** Close this session (the core itself closes when its last session does). */
    close (opts?: { error?: Error }): Promise<void>

    /** Append one or more blocks in one signed batch; resolves to the new length/byteLength. */
    append (
      blocks: T | Uint8Array | ReadonlyArray<T | Uint8Array>,
      opts?: { keyPair?: Hypercore.KeyPairInput; signature?: Uint8Array; maxLength?: number }
    ): Promise<Hypercore.AppendResult>
    /** Read block `index`; null only when `wait: false` and it is not stored locally. A waiting get fetches from peers (even a block we clear()ed). */
    get (index: number, opts?: Hypercore.GetOptions): Promise<T | null>
    /** Whether block `start` (or every block of [start, end)) is stored locally. */
    has (start: number, end?: number): Promise<boolean>
    /** Delete blocks [start, end) locally (end defaults to start+1); length, byteLength and tree hash stay; resolves null unless `{ diff: true }`. */
    clear (start: number, end?: number, opts?: Hypercore.ClearOptions): Promise<{ blocks: number } | null>
    /** `clear(start, opts)`: same with end = start + 1. */
    clear (start: number, opts: Hypercore.ClearOptions): Promise<{ blocks: number } | null>
    /** Local metadata stored beside the core (never replicated); null when unset. */
    getUserData (key: string): Promise<Buffer | null>
    /** Stores local metadata beside the core (never replicated), durably once resolved. */
    setUserData (key: string, value: Uint8Array | string | null): Promise<void>
    /** Cut the core to `newLength` blocks and bump the fork id (writer only). */
    truncate (newLength?: number, opts?: number | { fork?: number; keyPair?: Hypercore.KeyPairInput; signature?: Uint8Array }): Promise<void>
    /** 32-byte Merkle root hash at `length` (default: current). WAITS for a peer if block length-1 is not stored locally. */
    treeHash (length?: number): Promise<Buffer>
    /** The 112 bytes the head signature covers: TREE ns ‖ key ‖ treeHash(length) ‖ u64le length ‖ u64le fork. Same waiting caveat as treeHash. */
    signable (length?: number, fork?: number): Promise<Buffer>
    /** Ask peers for a newer length; resolves true if it grew. Writers return false unless `force`. */
    update (opts?: Hypercore.UpdateOptions): Promise<boolean>
    /** Fetch a range of blocks from peers. */
    download (range?: Hypercore.DownloadRange): Hypercore.Download
    /** Another session on the same core, with its own activity (active unless `active: false`); close it when done. */
    session (opts?: { active?: boolean }): Hypercore<T>
    /** Toggle whether this session keeps the core replicating (announced/attached to streams). */
    setActive (active: boolean): void
    /** Attach this core to a replication stream (existing one) or create one from a boolean. */
    replicate (isInitiatorOrStream: boolean | Hypercore.ProtocolStream, opts?: Hypercore.ReplicateOptions): Hypercore.ProtocolStream
    /** Length, byteLength etc. in one object. */
    info (opts?: { storage?: boolean }): Promise<Hypercore.Info>

    /** Typed event listener. */
    on<E extends keyof Hypercore.Events>(event: E, listener: (...args: Hypercore.Events[E]) => void): this
    /** Typed one-shot event listener. */
    once<E extends keyof Hypercore.Events>(event: E, listener: (...args: Hypercore.Events[E]) => void): this
    /** Remove a listener. */
    off<E extends keyof Hypercore.Events>(event: E, listener: (...args: Hypercore.Events[E]) => void): this
  }

  export default Hypercore
}
