/** Helpers for tests, benchmarks and dev networks built on ledgers; not part of the package's runtime API. */
export {
  LedgerConsortium, makeInstitution, registerCleanup,
  type Cleanup, type Institution, type LedgerConsortiumInit, type OnCleanup
} from './consortium.js'
export { enrolWithExams } from './chains.js'
export * from './internals.js'
