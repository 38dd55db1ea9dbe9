import './polyfills.js'
export { NetworkNode, type NetworkNodeInit, type AppendOptions, type NodeStatus, type ChainRead } from './network-node.js'
export { HeadsService, FORKS_TOPIC, type HeadsServiceComponents, type HeadsServiceInit, type HeadsBounds, type HeadsStats, type DroppedStats, type ForkedChain } from './heads.js'
export { HeadLog, RecentHeads, DEFAULT_MAX_UNHELD_HEADS, DEFAULT_RECENT_HEADS, type HeadLogPage, type HeadLogBound, type RecentHeadsInit } from './head-log.js'
export { UnheldForks, DEFAULT_MAX_UNHELD_FORKS } from './unheld-forks.js'
export { ForkRegistry, FORK_PROOFS_CORE, type ForkProofPage } from './fork-registry.js'
export { FORK_RECORD_VERSION, encodeForkRecord, decodeForkRecord } from './fork-record.js'
export { ConflictWatch, type ConflictWatchComponents, type ConflictWatchInit, type ConflictStats } from './conflict-watch.js'
export { DeferredHeads, MAX_DEFERRED_PER_CHAIN, MAX_DEFERRED_CHAINS } from './deferred-heads.js'
export { proveAgainstOwn } from './own-copy-proof.js'
export { ForwardLanes, type ForwardLanesInit } from './forward-lanes.js'
export { ChainFetcher, DEFAULT_MAX_UNHELD_FETCHES, type ChainFetcherComponents, type ChainFetcherInit, type FetchStats, type ReplicationLag } from './chain-fetcher.js'
export { HeadsReconciler, type HeadsReconcilerComponents, type HeadsReconcilerInit, type ReconcileStats, type ForkProofSource } from './heads-reconcile.js'
export {
  AppendService, appendAsCustodian, forwardAppend, appendViaCustodian, appendToChain, custodianPeerOf,
  DEFAULT_APPEND_RETRIES, DEFAULT_APPEND_TIMEOUT_MS,
  type AppendServiceComponents, type AppendServiceInit, type AppendStats, type ForwardOptions,
  type AppendViaCustodianInit, type AppendToChainInit
} from './append-forwarding.js'
export {
  WitnessService, headWithQuorum, askWitness, COSIGNATURES_CORE,
  type WitnessServiceComponents, type WitnessServiceInit, type WitnessStats, type WitnessVerdict, type WitnessRefusal,
  type QuorumOptions, type QuorumHead, type WitnessClientComponents
} from './witness.js'
export { MembershipGate, DEFAULT_INBOUND_LIMIT, type MembershipGateInit, type InboundDecision, type InboundRefusal } from './membership-gate.js'
export {
  MyChainService, askMyChain, findMyChain, DEFAULT_MY_CHAIN_TIMEOUT_MS,
  type MyChainServiceComponents, type MyChainServiceInit, type MyChainStats, type MyChain, type MyChainOptions
} from './my-chain.js'
export { MemberDialer } from './member-dialer.js'
export { Replication, REPLICATE_PROTOCOL, DEFAULT_SERVED_IDLE_MS, DEFAULT_MAX_SERVED_PER_PEER, type FetchOptions, type ReplicationInit } from './replication.js'
export { LightPeer, type LightPeerInit, type SyncResult } from './light-peer.js'
export { createHost, createLightHost, type Host, type BaseHost, type HostInit } from './host.js'
export { StreamBridge } from './stream-bridge.js'
export { NET_ERROR_CODES, NetError, isNetError, type NetErrorCode } from './errors.js'
export { REFUSAL_CODES, isRefusalCode, type ProtocolRefusalCode, type RefusalCode } from './refusals.js'
export * from './wire/index.js'
