import './polyfills.js'
export {
  NetworkNode, DEFAULT_COSIGNATURE_WAIT_MS, MAX_COSIGNATURES_PER_WITNESS,
  type NetworkNodeInit, type AppendOptions, type NodeStatus, type ChainRead, type KnownCosignatures
} from './network-node.js'
export { HeadsService, FORKS_TOPIC, type HeadsServiceComponents, type HeadsServiceInit, type HeadsBounds, type HeadsStats, type DroppedStats, type ForkedChain } from './heads.js'
export { REANNOUNCE_WITHIN_MS } from './heads-announcer.js'
export type { ChainBehind, FetchStats, ReplicationLag } from './chain-fetcher.js'
export { CatchUp, type CatchUpComponents, type CatchUpInit, type CatchUpStatus } from './catch-up.js'
export type { ReconcileStats } from './heads-reconcile.js'
export {
  AppendService, DEFAULT_APPEND_RETRIES, DEFAULT_APPEND_TIMEOUT_MS,
  type AppendServiceComponents, type AppendServiceInit, type AppendStats
} from './append-forwarding.js'
export {
  WitnessService, headWithQuorum, askWitness, COSIGNATURES_CORE,
  type WitnessServiceComponents, type WitnessServiceInit, type WitnessStats, type WitnessVerdict, type WitnessRefusal,
  type QuorumOptions, type QuorumHead, type WitnessClientComponents
} from './witness.js'
export { CosignatureRecord, DEFAULT_COSIGNATURES_IN_MEMORY, MAX_COSIGNATURES_IN_MEMORY, MIN_COSIGNATURES_IN_MEMORY } from './cosignature-record.js'
export { MembershipGate, DEFAULT_INBOUND_LIMIT, type MembershipGateInit, type InboundDecision, type InboundRefusal } from './membership-gate.js'
export {
  MyChainService, askMyChain, findMyChain, DEFAULT_MY_CHAIN_TIMEOUT_MS,
  type MyChainServiceComponents, type MyChainServiceInit, type MyChainStats, type MyChain, type MyChainOptions
} from './my-chain.js'
export { Replication, REPLICATE_PROTOCOL, DEFAULT_SERVED_IDLE_MS, DEFAULT_MAX_SERVED_PER_PEER, type FetchOptions, type ReplicationInit } from './replication.js'
/** A signed entry forwarded to its chain's custodian, as a light peer writes. */
export { forwardAppend, custodianPeerOf, type ForwardOptions } from './append-forwarding.js'
export { LightPeer, majorityQuorum, type LightPeerInit, type LightSyncOptions, type SyncResult, type WitnessedHeadOptions } from './light-peer.js'
export { createHost, createLightHost, type Host, type BaseHost, type HostInit } from './host.js'
export { NET_ERROR_CODES, NetError, isNetError, type NetErrorCode } from './errors.js'
export { REFUSAL_CODES, isRefusalCode, type ProtocolRefusalCode, type RefusalCode } from './refusals.js'
export * from './wire/index.js'
export {
  ContinuationService, askContinuation, askOffer, sendMigrate, DEFAULT_CONTINUATION_TIMEOUT_MS,
  type ContinuationServiceComponents, type ContinuationServiceInit, type ContinuationStats, type ContinuationOptions, type OfferedContinuation
} from './continuation-protocol.js'
export {
  CONTINUATION_PROTOCOL, MAX_CONTINUATION_REQUEST_BYTES, MAX_CONTINUATION_RESPONSE_BYTES, MAX_CONTINUATION_MESSAGE_CHARS,
  continuationRequestSchema, continuationResponseSchema, continuationRequestCodec, continuationResponseCodec,
  encodeContinuationRequest, decodeContinuationRequest, encodeContinuationResponse, decodeContinuationResponse,
  type ContinuationRequest, type ContinuationResponse
} from './wire/continuation.js'
