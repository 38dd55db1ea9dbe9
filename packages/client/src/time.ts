/** Times at the SDK's boundary: a Date or epoch milliseconds in, integer epoch milliseconds out. */
import { MAX_TIME, MIN_TIME } from '@healthchain/core'
import { ClientError } from './errors.js'

export type TimeInput = Date | number

/** Epoch milliseconds of `value`, within the chain's time range (2000–2200); INVALID_INPUT naming `field` otherwise. */
export function toMillis (value: TimeInput, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new ClientError('INVALID_INPUT', `${field}: expected a Date or epoch milliseconds`, { field })
  }
  const whole = Math.round(ms)
  if (whole < MIN_TIME || whole > MAX_TIME) {
    throw new ClientError('INVALID_INPUT', `${field}: must be between the years 2000 and 2200`, { field })
  }
  return whole
}

/** ISO 8601 in UTC, as FHIR's dateTime and instant want it. */
export function isoOf (ms: number): string {
  return new Date(ms).toISOString()
}
