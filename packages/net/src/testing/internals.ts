/** Internals of the network layer that tests reach into (never the package's API): re-exports only. */
export { HeadLog, RecentHeads, DEFAULT_MAX_UNHELD_HEADS, DEFAULT_RECENT_HEADS, type HeadLogPage, type HeadLogBound, type RecentHeadsInit } from '../head-log.js'
export { UnheldForks, DEFAULT_MAX_UNHELD_FORKS } from '../unheld-forks.js'
export { ForkRegistry, FORK_PROOFS_CORE, type ForkProofPage } from '../fork-registry.js'
export { FORK_RECORD_VERSION, encodeForkRecord, decodeForkRecord } from '../fork-record.js'
export { ConflictWatch, type ConflictWatchComponents, type ConflictWatchInit, type ConflictStats } from '../conflict-watch.js'
export { DeferredHeads, MAX_DEFERRED_PER_CHAIN, MAX_DEFERRED_CHAINS } from '../deferred-heads.js'
export { proveAgainstOwn } from '../own-copy-proof.js'
export { ForwardLanes, type ForwardLanesInit } from '../forward-lanes.js'
export { ChainFetcher, DEFAULT_MAX_UNHELD_FETCHES, type ChainFetcherComponents, type ChainFetcherInit } from '../chain-fetcher.js'
export { HeadsReconciler, type HeadsReconcilerComponents, type HeadsReconcilerInit, type ForkProofSource } from '../heads-reconcile.js'
export {
  appendAsCustodian, appendViaCustodian, appendToChain,
  type AppendViaCustodianInit, type AppendToChainInit
} from '../append-forwarding.js'
export { StreamBridge } from '../stream-bridge.js'
export { MemberDialer } from '../member-dialer.js'
