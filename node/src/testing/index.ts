/** Helpers for tests, benchmarks and dev networks of real daemons; not part of the package's runtime API. */
export { prepareConsortium, type NodePartySpec, type PrepareConsortiumInit, type PreparedConsortium } from './consortium.js'
export {
  call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil,
  type ConsortiumOptions, type Reply, type TestConsortium, type TestNode
} from './daemons.js'
export {
  generateDataset, distanceMetres, Rng,
  type DatasetOptions, type Dataset, type DatasetUser, type DatasetInstitution, type GeoPoint, type PlantedPair, type PlantedNearMiss, type RawEntry
} from './dataset/index.js'
/** The query index's location grid, for benchmarks that write location rows directly. */
export { cellOf } from '../query-index/index.js'
