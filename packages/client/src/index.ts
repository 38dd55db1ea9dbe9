export {
  PhoneClient,
  type PhoneClientInit, type WriteResult, type WrittenEntry, type WriteState, type SyncOptions, type SyncReport, type DiscoveredChain,
  type PendingWrite, type FailedWrite, type ClientStatus
} from './phone-client.js'
export { type FlushResult, type SentItem, type ItemOutcome } from './sender.js'
export { OUTBOX_CORE } from './outbox.js'
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
export { toTimeline, seriesOf, type TimelineItem, type TimelineQuery, type SeriesPoint } from './timeline.js'
export { assertUserWritable, USER_WRITABLE_TYPES } from './guard.js'
export { type TimeInput } from './time.js'
export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode, type ClientErrorOptions } from './errors.js'
