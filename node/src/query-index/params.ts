/**
 * Checks of query parameters at the library boundary: a bad value is a
 * NodeError BAD_REQUEST naming the field (the HTTP routes validate first;
 * this keeps the library safe for any other caller too).
 */
import { LOINC_PATTERN, MAX_TIME, MIN_TIME } from '@healthchain/core'
import { NodeError } from '../errors.js'

export interface TimeWindow {
  /** Inclusive, milliseconds since the epoch. */
  readonly since: number
  /** Exclusive. */
  readonly until: number
}

function bad (field: string, message: string): never {
  throw new NodeError('BAD_REQUEST', `${field}: ${message}`, { field })
}

export function checkTime (value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < MIN_TIME || value > MAX_TIME) bad(field, 'expected milliseconds since the epoch, between 2000 and 2200')
  return value
}

/** A window [since, until); absent bounds are open (the whole range entries may have). */
export function checkWindow (since: number | undefined, until: number | undefined, maxDays?: number): TimeWindow {
  const window = { since: checkTime(since, 'since', MIN_TIME), until: checkTime(until, 'until', MAX_TIME) }
  if (window.until <= window.since) bad('until', 'must be after since')
  if (maxDays !== undefined && window.until - window.since > maxDays * 86_400_000) bad('until', `the window may span at most ${maxDays} days`)
  return window
}

export function checkCode (code: string, field = 'code'): string {
  if (typeof code !== 'string' || !LOINC_PATTERN.test(code)) bad(field, 'expected a LOINC code such as 8480-6')
  return code
}

export function checkNumber (value: number, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) bad(field, `expected a number from ${min} to ${max}`)
  return value
}

export function checkChoice<T extends string> (value: T, field: string, choices: readonly T[]): T {
  if (!choices.includes(value)) bad(field, `expected one of ${choices.join(', ')}`)
  return value
}

export function checkOffsetMinutes (value: number | undefined): number {
  if (value === undefined) return 0
  if (!Number.isInteger(value) || value < -14 * 60 || value > 14 * 60) bad('utcOffsetMinutes', 'expected whole minutes from -840 to 840')
  return value
}
