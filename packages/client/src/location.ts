/**
 * GPS points as the phone records them, turned into core's location plain
 * segments. A day of movement easily holds more points than one entry may
 * (2,000, and 128 KiB per block), so points are split into entries of at
 * most LOCATION_POINTS_PER_ENTRY, in time order.
 */
import { ENTRY_LIMITS, type LocationPlain } from '@healthchain/core'
import { ClientError } from './errors.js'
import { toMillis, type TimeInput } from './time.js'

/** One GPS fix. */
export interface GeoPoint {
  /** Degrees, -90 to 90. */
  readonly lat: number
  /** Degrees, -180 to 180. */
  readonly lon: number
  /** Horizontal accuracy in metres (the radius of 68 % confidence, as phones report it). */
  readonly accuracy: number
  readonly time: TimeInput
}

/**
 * Points per location entry. Half core's limit: a point encodes to about 54
 * bytes, so 2,000 would come within a few KiB of the 128 KiB block limit;
 * 1,000 leave room and still make a day at one fix per 5 s about 17 entries.
 */
export const LOCATION_POINTS_PER_ENTRY = 1000

function inRange (value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
}

/** Validates points (INVALID_INPUT naming `points.<i>.<field>`), sorts them by time, and splits them into location plain segments. */
export function locationPlains (points: readonly GeoPoint[]): LocationPlain[] {
  if (!Array.isArray(points) || points.length === 0) throw new ClientError('INVALID_INPUT', 'points: at least one point is required', { field: 'points' })
  const checked = points.map((p, i) => {
    const field = (name: string): string => `points.${i}.${name}`
    if (!inRange(p.lat, -90, 90)) throw new ClientError('INVALID_INPUT', `${field('lat')}: expected degrees from -90 to 90`, { field: field('lat') })
    if (!inRange(p.lon, -180, 180)) throw new ClientError('INVALID_INPUT', `${field('lon')}: expected degrees from -180 to 180`, { field: field('lon') })
    if (!inRange(p.accuracy, 0, ENTRY_LIMITS.accuracy)) {
      throw new ClientError('INVALID_INPUT', `${field('accuracy')}: expected metres from 0 to ${ENTRY_LIMITS.accuracy}`, { field: field('accuracy') })
    }
    return { lat: p.lat, lon: p.lon, acc: p.accuracy, time: toMillis(p.time, field('time')) }
  })
  // Stable: points with the same time keep the order they were given in.
  checked.sort((a, b) => a.time - b.time)
  const plains: LocationPlain[] = []
  for (let i = 0; i < checked.length; i += LOCATION_POINTS_PER_ENTRY) plains.push({ points: checked.slice(i, i + LOCATION_POINTS_PER_ENTRY) })
  return plains
}
