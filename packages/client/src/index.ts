/**
 * @healthchain/client, the user side. PhoneClient is what a phone runs (a
 * light peer over libp2p). The entry builders and the signed-send loop
 * below are the user-side logic every path shares: a client of a node's
 * HTTP API (the CLI's `healthchain user`) uses them with its own transport.
 */
export { PhoneClient } from './phone-client.js'
export {
  type PhoneClientInit, type WriteResult, type WrittenEntry, type WriteState, type SyncOptions, type SyncReport, type DiscoveredChain,
  type PendingWrite, type FailedWrite, type ClientStatus
} from './phone-types.js'
export { type FlushResult, type SentItem, type ItemOutcome } from './sender.js'
export {
  REWRAP_KEYS_PER_GRANT, grantChunks, buildEnrolmentGenesis, buildGrantEntries, buildRevokeEntry, buildErasureEntry,
  buildExerciseEntry, buildLocationEntry, signUserEntry,
  type SealedPast, type GrantEntriesInput
} from './user-writes.js'
export { MAX_RESIGNS, sendSigned, type SendAnswer, type SignedSendSteps } from './resign.js'
export { DEVICE_FILE, LEDGER_DIR, PHRASE_FILE, phrasePathOf, readSavedDevice, type SavedDevice } from './device.js'
export {
  EXERCISE_MEASURES, measureOfCode, measureObservation, exercisePlain,
  stepsObservation, distanceObservation, activeEnergyObservation, heartRateObservation,
  type ExerciseMeasure, type MeasureDefinition, type ExerciseInput, type HeartRateSample
} from './exercise.js'
export {
  toFhirObservation, exerciseToFhir, LOINC_SYSTEM, UCUM_SYSTEM, OBSERVATION_CATEGORY_SYSTEM,
  type FhirObservation, type FhirOptions, type ObservationPeriod
} from './fhir.js'
export { locationPlains, LOCATION_POINTS_PER_ENTRY, type GeoPoint } from './location.js'
export { parseGpx, type GpxTrack, type GpxPoint, type GpxOptions } from './gpx.js'
export { parseStepsCsv, type StepsRow } from './csv.js'
export { envelopeOf, openEnvelope, type SealedEntryView } from './sealed-view.js'
export { toTimeline, seriesOf, type TimelineItem, type TimelineQuery, type SeriesPoint } from './timeline.js'
export { assertUserWritable, USER_WRITABLE_TYPES } from './guard.js'
export { type TimeInput } from './time.js'
export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode, type ClientErrorOptions } from './errors.js'
