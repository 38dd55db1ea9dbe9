/** Helpers for tests, benchmarks and dev networks of real daemons; not part of the package's runtime API. */
export { prepareConsortium, type NodePartySpec, type PrepareConsortiumInit, type PreparedConsortium } from './consortium.js'
export {
  call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil,
  type ConsortiumOptions, type Reply, type TestConsortium, type TestNode
} from './daemons.js'
