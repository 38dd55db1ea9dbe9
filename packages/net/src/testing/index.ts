/** Helpers for tests, benchmarks and dev networks of real nodes; not part of the package's runtime API. */
export {
  LOOPBACK_INBOUND, TestNet, converged, crypto, dialUntilConnected, enrol, holds, makeParty, writeExam,
  type Cleanup, type OnCleanup, type Party, type TestNetInit
} from './test-net.js'
export { waitFor } from './wait.js'
export { copyRegistry, partialRegistry } from './registry-copy.js'
export * from './internals.js'
