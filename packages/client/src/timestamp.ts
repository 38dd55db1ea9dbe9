/**
 * Timestamps in import files. Only unambiguous forms: ISO 8601 date-times
 * that carry their time zone (`Z` or an offset) — a local time without one
 * would land hours off depending on where the file is read — and, where a
 * caller allows it, whole epoch milliseconds.
 */
import { MAX_TIME, MIN_TIME } from '@healthchain/core'

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i
const EPOCH_MS = /^\d{12,14}$/

/** Epoch milliseconds of `text`, or a message saying why it is not a usable time. */
export function parseTimestamp (text: string, opts: { epochMs?: boolean } = {}): number | string {
  const value = text.trim()
  let ms: number
  if (opts.epochMs === true && EPOCH_MS.test(value)) {
    ms = Number(value)
  } else if (ISO_WITH_ZONE.test(value)) {
    ms = Date.parse(value)
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(value)) {
    return 'the time has no time zone (add Z or an offset such as +02:00)'
  } else {
    return opts.epochMs === true ? 'expected an ISO 8601 time with a zone, or epoch milliseconds' : 'expected an ISO 8601 time with a zone'
  }
  if (!Number.isFinite(ms)) return 'not a valid date'
  const whole = Math.round(ms)
  if (whole < MIN_TIME || whole > MAX_TIME) return 'must be between the years 2000 and 2200'
  return whole
}
