/**
 * What the query index answers (series, exercise summaries, contact
 * tracing, statistics): requests and the replies' exact shapes, as
 * node/src/query-index builds them. Times in replies are milliseconds since
 * the epoch; plain segments only, nothing sealed is in the index.
 */
import { z } from 'zod'
// The index's own limits (a type-only import of SQLite there: nothing of it loads here).
import { MAX_MIN_USERS, MIN_SUPPRESSION_K } from '../query-index/statistics.js'
import { instantSchema, userIdSchema } from './common.js'

const loinc = z.string().regex(/^\d{1,7}-\d$/, { error: 'expected a LOINC code such as 8480-6' })
const observationSource = z.enum(['exam', 'exercise'])

// ---- GET /v1/users/{id}/series

export const seriesQuerySchema = z.strictObject({
  code: loinc,
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  unit: z.string().max(32).optional(),
  source: observationSource.optional()
})
export type SeriesQuery = z.infer<typeof seriesQuerySchema>

const referenceRangeSchema = z.object({ low: z.number().optional(), high: z.number().optional() })
const seriesValueSchema = z.object({ time: z.number(), value: z.number(), author: z.string(), seq: z.int() })

export const seriesReplySchema = z.object({
  code: z.string(),
  unit: z.string().nullable().describe('the unit of the points: the asked one, else the latest reading\'s'),
  count: z.int(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  first: seriesValueSchema.nullable(),
  latest: seriesValueSchema.nullable(),
  change: z.number().nullable().describe('latest less first'),
  outOfRange: z.int().describe('points outside their reference range'),
  authors: z.array(z.string()),
  points: z.array(z.object({
    time: z.number(),
    value: z.number(),
    unit: z.string().nullable(),
    author: z.string(),
    source: observationSource,
    seq: z.int(),
    range: referenceRangeSchema.optional(),
    outOfRange: z.boolean()
  })),
  otherUnits: z.array(z.object({ unit: z.string().nullable(), count: z.int() })).describe('readings of the code in other units, left out of the points')
})
export type SeriesReply = z.infer<typeof seriesReplySchema>

// ---- GET /v1/users/{id}/exercise

export const exerciseQuerySchema = z.strictObject({
  period: z.enum(['day', 'week']),
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  utcOffsetMinutes: z.string().regex(/^-?\d{1,4}$/, { error: 'expected minutes, e.g. 60 or -300' }).optional()
})
export type ExerciseQuery = z.infer<typeof exerciseQuerySchema>

export const exerciseReplySchema = z.array(z.object({
  label: z.string().describe('first day of the period, YYYY-MM-DD in the offset\'s local time'),
  start: z.number(),
  end: z.number(),
  sessions: z.int(),
  steps: z.number(),
  distanceMetres: z.number(),
  activeEnergyKcal: z.number(),
  heartRateMean: z.number().nullable(),
  heartRateReadings: z.int()
}))
export type ExerciseReply = z.infer<typeof exerciseReplySchema>

// ---- POST /v1/trace

export const traceRequestSchema = z.strictObject({
  userId: userIdSchema,
  since: instantSchema,
  until: instantSchema,
  radiusMetres: z.number().positive().max(10_000),
  windowMinutes: z.number().min(0).max(1_440)
})
export type TraceRequest = z.infer<typeof traceRequestSchema>

const tracePointSchema = z.object({ time: z.number(), lat: z.number(), lon: z.number(), acc: z.number(), seq: z.int() })

export const traceReplySchema = z.object({
  userId: z.string(),
  contacts: z.array(z.object({
    userId: z.string(),
    matches: z.array(z.object({ mine: tracePointSchema, theirs: tracePointSchema, distanceMetres: z.number(), minutesApart: z.number() }))
  }))
})
export type TraceReply = z.infer<typeof traceReplySchema>

// ---- GET /v1/statistics

export const statisticsQuerySchema = z.strictObject({
  period: z.enum(['day', 'week', 'month']),
  code: loinc.optional(),
  since: instantSchema.optional(),
  until: instantSchema.optional(),
  source: observationSource.optional(),
  minUsers: z.string().regex(/^\d{1,6}$/, { error: `expected a whole number of users, ${MIN_SUPPRESSION_K} to ${MAX_MIN_USERS}` }).optional()
})
export type StatisticsQuery = z.infer<typeof statisticsQuerySchema>

export const statisticsReplySchema = z.object({
  period: z.enum(['day', 'week', 'month']),
  minUsers: z.int(),
  buckets: z.array(z.object({
    code: z.string(),
    unit: z.string().nullable(),
    period: z.string().describe('YYYY-MM-DD (day, or the Monday of a week) or YYYY-MM (month)'),
    suppressed: z.boolean().describe('fewer than minUsers users contributed: no numbers are given'),
    count: z.int().optional(),
    users: z.int().optional(),
    mean: z.number().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    p10: z.number().optional(),
    p50: z.number().optional(),
    p90: z.number().optional()
  })),
  suppressedBuckets: z.int()
})
export type StatisticsReply = z.infer<typeof statisticsReplySchema>
