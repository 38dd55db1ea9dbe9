import './polyfills.js'
export { NetworkNode, type NetworkNodeInit, type AppendOptions } from './network-node.js'
export {
  AppendService, appendAsCustodian, forwardAppend, appendViaCustodian, appendToChain, custodianPeerOf,
  DEFAULT_APPEND_RETRIES, DEFAULT_APPEND_TIMEOUT_MS,
  type AppendServiceComponents, type AppendServiceInit, type AppendStats, type ForwardOptions,
  type AppendViaCustodianInit, type AppendToChainInit
} from './append-forwarding.js'
export { MembershipGate, type MembershipGateInit } from './membership-gate.js'
export { Replication, REPLICATE_PROTOCOL } from './replication.js'
export { createHost, type Host, type HostInit } from './host.js'
export { StreamBridge } from './stream-bridge.js'
export { NetError, isNetError, type NetErrorCode } from './errors.js'
export * from './wire/index.js'
