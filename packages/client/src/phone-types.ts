/** What PhoneClient takes and gives: its options, and the results of its writes, syncs and status. */
import type { CryptoProvider, EntryType, InstitutionId, UnsignedEntry, UserId } from '@healthchain/core'
import type { IngestResult } from '@healthchain/ledger'
import type { CustodyStatus } from './custody-status.js'
import type { FlushResult } from './sender.js'

export interface PhoneClientInit {
  /** The device directory (created if missing, owner-only). One user per directory. */
  readonly dir: string
  /** The 24-word recovery phrase. Not written anywhere unless `savePhrase`. */
  readonly phrase: string
  /** The consortium registry's key (from the app's configuration). */
  readonly registryKey: Uint8Array
  /** Peer ids of the nodes this device may fetch the registry from before it has it. */
  readonly bootstrapPeers: readonly string[]
  /** Keep the phrase in `<dir>/keys/recovery-phrase.json`, owner-only (0600), for `openSaved`. Default false. */
  readonly savePhrase?: boolean
  /**
   * The user's chain key, when it is known from elsewhere. Not needed on a
   * new device: the first `sync` asks the connected nodes (`discoverChain`).
   */
  readonly chainKey?: Uint8Array
  /** Default libsodium (sodium-native); core's noble provider gives the same verdicts without native code. */
  readonly crypto?: CryptoProvider
  /** Time limit of a sync (registry and chain). Default 10 s. */
  readonly syncTimeoutMs?: number
  /** Time limit of one entry's send, including the custodian's durable append. Default 10 s. */
  readonly appendTimeoutMs?: number
  /**
   * Witness cosignatures (distinct active regulators) a head needs before
   * this device trusts it. Default: more than half of the active regulators
   * of the registry the device holds (0 only if it lists none). 0 opts out
   * explicitly, for a consortium that decided so. Kept in device.json: a
   * later open without it keeps the value set.
   */
  readonly quorum?: number
}

export type WriteState = 'sent' | 'queued' | 'failed'

export interface WrittenEntry {
  /** Entry id, hex: the same on every retry. */
  readonly id: string
  readonly type: EntryType
  /** sent: in the chain at `seq`; queued: kept on the device until a node takes it; failed: refused for good (`remoteCode`). */
  readonly state: WriteState
  readonly seq?: number
  readonly remoteCode?: string
}

export interface WriteResult {
  readonly entries: WrittenEntry[]
  /** The send attempt that followed (its `stopped` says why something is still queued). */
  readonly flush: FlushResult
}

export interface SyncOptions {
  readonly timeoutMs?: number
  /** The chain to sync; must be this user's (default: the one this device knows). */
  readonly chainKey?: Uint8Array
}

/** What `discoverChain` found: the user's chain key and the custodian its block 0 names. */
export interface DiscoveredChain {
  readonly chainKey: Uint8Array
  readonly custodian: InstitutionId
}

export interface SyncReport {
  /** Blocks of the chain on this device. */
  readonly length: number
  /** Of those, checked and folded. */
  readonly verifiedLength: number
  /** Of those, what the device trusts and shows: up to the witnessed head while a quorum is demanded, else all verified. */
  readonly trustedLength: number
  /** The first block that failed verification, if one did (it and what follows are not shown). */
  readonly problem: IngestResult['problem']
  /** Witness cosignatures demanded (0: none asked). */
  readonly quorum: number
  /** The witnessed head the chain was checked against (with a quorum above 0): its length and the witnesses that cosigned it. */
  readonly witnessed: { readonly length: number, readonly witnesses: readonly InstitutionId[] } | undefined
  /** The outbox sent after syncing. */
  readonly flush: FlushResult
}

export interface PendingWrite {
  readonly id: string
  readonly type: EntryType
  readonly time: number
  readonly plain: UnsignedEntry['plain']
}

export interface FailedWrite extends PendingWrite {
  /** The custodian's code. */
  readonly code: string
}

export interface ClientStatus {
  readonly userId: UserId
  /** This device's libp2p peer id (derived from the user's key). */
  readonly peerId: string
  readonly chainKey: string | undefined
  /** Peer ids of the nodes connected now. */
  readonly connectedNodes: string[]
  /** Blocks of the user's chain on this device. */
  readonly localLength: number
  /** Of those, verified (block, tree and author signature, role, consent). */
  readonly verifiedLength: number
  /** Of those, trusted and shown: up to the witnessed head while a quorum is demanded. */
  readonly trustedLength: number
  /** Witness cosignatures this device demands now (its own setting, else a majority of the registry's active regulators). */
  readonly quorum: number
  /** The witnessed head the device trusts, once a witnessed sync recorded one. */
  readonly witnessedLength: number | undefined
  readonly outbox: { readonly pending: number, readonly failed: number }
  readonly lastSync: { readonly at: number, readonly verifiedLength: number } | undefined
  /** Who holds the chain, the user's key generation, a pending reassignment (custody-status.ts). */
  readonly custody: CustodyStatus
}
