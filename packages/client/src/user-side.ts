/**
 * @healthchain/client/user-side: the user side without a transport. The
 * entry builders, the signed-send loop, the importers (GPX, CSV) and the
 * timeline need only core, so a browser can run them as they are; the
 * package's main entry adds the phone's light peer (libp2p, Hypercore),
 * which a browser cannot. Nothing reachable from here may import a Node
 * built-in (the console's build would fail on it).
 */
export {
  REWRAP_KEYS_PER_GRANT, grantChunks, buildEnrolmentGenesis, buildGrantEntries, buildRevokeEntry, buildErasureEntry,
  buildExerciseEntry, buildLocationEntry, signUserEntry,
  type SealedPast, type GrantEntriesInput
} from './user-writes.js'
export { MAX_RESIGNS, sendSigned, type SendAnswer, type SignedSendSteps } from './resign.js'
export {
  EXERCISE_MEASURES, measureOfCode, measureObservation, exercisePlain,
  type ExerciseMeasure, type MeasureDefinition, type ExerciseInput, type HeartRateSample
} from './exercise.js'
export { locationPlains, LOCATION_POINTS_PER_ENTRY, type GeoPoint } from './location.js'
export { parseGpx, type GpxTrack, type GpxPoint, type GpxOptions } from './gpx.js'
export { parseStepsCsv, type StepsRow } from './csv.js'
export { envelopeOf, openEnvelope, type SealedEntryView } from './sealed-view.js'
export { toTimeline, seriesOf, type TimelineItem, type TimelineQuery, type SeriesPoint } from './timeline.js'
export { assertUserWritable, USER_WRITABLE_TYPES } from './guard.js'
export { type TimeInput } from './time.js'
export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode, type ClientErrorOptions } from './errors.js'
