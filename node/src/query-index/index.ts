/**
 * The derived query index: timelines and series, exercise summaries,
 * contact tracing and statistics over plain segments, in SQLite or PostgreSQL. See
 * query-index.ts for the flow and node/README.md ("Query index").
 */
export { QueryIndex, INDEX_FILE_NAME, type QueryIndexInit, type IndexResult, type RebuildProgress, type RebuildResult } from './query-index.js'
export { SqliteIndexBackend, openQueryIndex, type QueryIndexBackend, type IndexConfig } from './backend.js'
export { PgQueryIndex } from './pg-index.js'
export { IndexFollower, type IndexFollowerComponents, type IndexFollowerInit, type FollowerStats } from './follower.js'
export type { BatchHook, BatchInfo } from './index-writer.js'
export { SCHEMA_VERSION } from './schema.js'
export { cellOf, cellsOf, CELLS_PER_DEGREE } from './grid.js'
export { rowsOf, type EntryRows, type ObservationRow, type LocationRow, type ObservationSource } from './rows.js'
export { REFERENCE_RANGES, rangeFor, outOfRange, type ReferenceRange, type ReferenceEntry } from './reference-ranges.js'
export type { Series, SeriesOptions, SeriesPoint, SeriesValue } from './series.js'
export { EXERCISE_CODES, type ExercisePeriodSummary, type ExerciseSummaryOptions, type SummaryPeriod } from './exercise-summary.js'
export { TRACE_LIMITS, type TraceContact, type TraceMatch, type TraceOptions, type TracePoint } from './trace.js'
export { MIN_SUPPRESSION_K, MAX_MIN_USERS, percentile, type Statistics, type StatisticsBucket, type StatisticsOptions, type StatisticsPeriod } from './statistics.js'
export { haversineMetres, boxesAround, EARTH_RADIUS_METRES, type LatLonBox } from './geo.js'
