/** Internals of the ledger that tests reach into (never the package's API): re-exports only. */
export { storeOf } from '../ledger.js'
export { LOCAL_CORES, localCoresOf, localDiscoveryKeys, openLocalCore } from '../local-cores.js'
export { coreOf } from '../user-chain.js'
