/** The heads service's components, settings and statistics (heads.ts). */
import type { InstitutionId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { FetchStats } from './chain-fetcher.js'
import type { ConflictStats } from './conflict-watch.js'
import type { SeedStats } from './head-seeding.js'
import type { ReconcileStats } from './heads-reconcile.js'
import type { Host } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import type { Replication } from './replication.js'

export interface HeadsServiceComponents {
  readonly host: Host
  readonly ledger: Ledger
  readonly gate: MembershipGate
  readonly replication: Replication
}

/**
 * Bounds on what heads of chains not held here may make a node keep.
 * Chains held here are never subject to them.
 *
 * Any admitted member can send validly signed heads (and fork
 * proofs) of Hypercores it made up — a head verifies on its own — so
 * nothing a peer's head creates may grow without bound. What a chain held
 * here (custodian or replica: the ledger's catalog) creates is bounded by
 * the catalog; what any other chain creates is bounded by a setting
 * (`HeadsBounds`), each drop counted in `stats.dropped`:
 *   - head log (head-log.ts, about 0.8 KB an entry): every held chain and
 *     its fork evidence, plus at most `maxUnheldHeads` (10,000) not-held
 *     chains and their evidence, the least recently logged dropped first;
 *   - RecentHeads: at most `maxRecentHeld` (4,096) first heads of held
 *     chains and `maxRecentOther` (4,096) of others, each first-in first-out
 *     (about 0.4 KB each), so junk never pushes out a held chain's first head;
 *   - ChainFetcher: held chains behind, plus at most `maxUnheldFetches`
 *     (1,024) not-held chains queued, running or remembered as behind; held
 *     chains are fetched first; refused genesis keys 4,096;
 *   - DeferredHeads: only heads of held chains, at most 4 × 4,096;
 *   - fork proofs: one per held chain, persisted (ForkRegistry); of chains
 *     not held, at most `maxUnheldForks` (1,024, ≤ 6 KiB each) in memory
 *     only (unheld-forks.ts);
 *   - `incomplete`: one number per held chain whose own logged head is ahead
 *     of what it has verified; the announce queue at most 256 users.
 * A chain held here whose custodian churns heads (real appends) can still
 * turn over the held partitions; that costs it real, fetched blocks.
 */
export interface HeadsBounds {
  /** Not-held chains (and their fork evidence) in the head log; default 10,000. */
  readonly maxUnheldHeads?: number
  /** First heads per (chain, length) remembered for held chains; default 4,096. */
  readonly maxRecentHeld?: number
  /** First heads per (chain, length) remembered for other chains; default 4,096. */
  readonly maxRecentOther?: number
  /** Not-held chains queued, running or remembered as behind in the fetcher; default 1,024. */
  readonly maxUnheldFetches?: number
  /** Fork proofs of not-held chains kept (in memory only); default 1,024. */
  readonly maxUnheldForks?: number
}

/** What was dropped to stay within `HeadsBounds`. */
export interface DroppedStats {
  /** Not-held head-log entries dropped. */
  readonly log: number
  /** First heads forgotten (either partition). */
  readonly recent: number
  /** Not-held chains not taken into the fetcher, or forgotten as behind. */
  readonly fetches: number
  /** Fork proofs of not-held chains dropped. */
  readonly forks: number
}

export interface HeadsServiceInit extends HeadsBounds {
  /** Become a replica of every chain a head announces (regulators, full nodes); default true. */
  readonly replicateAll?: boolean
  /** Longest wait before queued heads are published; default 10 ms. */
  readonly flushMs?: number
  /** Chain fetches at once; default 8. */
  readonly maxConcurrentFetches?: number
  /** Per fetch and per heads-sync exchange; default 10 s. */
  readonly timeoutMs?: number
  /**
   * Reconcile again with every peer this often (ms), so a head whose gossip
   * was lost (e.g. published before a peer's subscription arrived) still
   * arrives; cheap, as each peer answers only what changed since our cursor.
   * Default 30 s; 0 turns it off.
   */
  readonly reconcileIntervalMs?: number
}

export interface HeadsStats {
  /** Heads received (gossip and sync) and heads that did not verify (ignored). */
  received: number
  invalid: number
  /** Gossip messages that did not decode, or fork proofs (gossip or forks-sync) that did not decode or verify. */
  malformed: number
  /** Own heads published, and publications that failed. */
  announced: number
  publishFailed: number
  /** Fork proofs recorded here (detected or received). */
  forks: number
  /** Heads of forked chains not fetched. */
  skippedForked: number
  /** Heads of a core the chain moved away from, beyond where it was closed (its old custodian appended after the move): never fetched, logged or served. */
  closedBeyond: number
  /** Observations that failed unexpectedly (e.g. the ledger closed under them). */
  errors: number
  /** Heads received that were, byte for byte, the one logged, with nothing pending for the chain: not checked again. */
  known: number
  /** The head log's seeding from storage at start. */
  readonly seed: SeedStats
  readonly fetch: FetchStats
  readonly sync: ReconcileStats
  /** Hypercore `conflict` events on chains held here, and what became of them. */
  readonly conflicts: ConflictStats
  /** What heads of chains not held here could not make this node keep (HeadsBounds). */
  readonly dropped: DroppedStats
}

export interface ForkedChain {
  /** The chain key, hex. */
  readonly chain: string
  /** A length at which the custodian's two histories differ: the one length of a same-length proof, the shorter head's of a consistency proof. */
  readonly length: number
  /** The custodian the genesis names, when this node holds the chain. */
  readonly custodian: InstitutionId | undefined
}
