/**
 * @healthchain/client, the user side. PhoneClient is what a phone runs (a
 * light peer over libp2p). The entry builders, the signed-send loop, the
 * importers and the sealed-part opener are the user-side logic every path
 * shares (`./user-side.ts`, also an entry of its own for browsers): a
 * client of a node's HTTP API (the CLI's `healthchain user`, the web
 * console) uses them with its own transport.
 */
export * from './user-side.js'
export { PhoneClient } from './phone-client.js'
export { type TransferResult } from './transfer.js'
export { reassignmentWarning, type CustodyStatus } from './custody-status.js'
export {
  type PhoneClientInit, type WriteResult, type WrittenEntry, type WriteState, type SyncOptions, type SyncReport, type DiscoveredChain,
  type PendingWrite, type FailedWrite, type ClientStatus
} from './phone-types.js'
export { type FlushResult, type SentItem, type ItemOutcome } from './sender.js'
export { DEVICE_FILE, LEDGER_DIR, PHRASE_FILE, phrasePathOf, readSavedDevice, type SavedDevice } from './device.js'
// Beside the user side: the one-measure observation builders and the FHIR mapping (the phone's export).
export { stepsObservation, distanceObservation, activeEnergyObservation, heartRateObservation } from './exercise.js'
export {
  toFhirObservation, exerciseToFhir, LOINC_SYSTEM, UCUM_SYSTEM, OBSERVATION_CATEGORY_SYSTEM,
  type FhirObservation, type FhirOptions, type ObservationPeriod
} from './fhir.js'
