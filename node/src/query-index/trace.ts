/**
 * Contact tracing: every other user whose location points came within R
 * metres and T minutes of a given user's points in a time window, with the
 * matching pairs of points.
 *
 * For each of the user's points in the window, the grid (grid.ts) yields
 * the candidates in the cells of a box of ±R (latitude, and longitude
 * widened for the point's latitude, see geo.ts) within ±T (time), one seek
 * of `locations_by_cell` per cell; each candidate is then kept only if its
 * great-circle distance is <= R and its time <= T minutes away. The box is
 * a superset of the circle and its cells a superset of its points' cells,
 * so nothing within R and T is missed; the exact filter removes the rest.
 *
 * The caller (the HTTP route, for inquirers) writes the audit line; the
 * query itself reads only plain location points.
 */
import type { UserId } from '@healthchain/core'
import { boxesAround, haversineMetres } from './geo.js'
import { cellsOf } from './grid.js'
import { checkNumber, checkWindow } from './params.js'
import type { Db } from './schema.js'

/** Largest radius and time window a trace may ask for: beyond them a "contact" means little, and the query grows without bound. */
export const TRACE_LIMITS = Object.freeze({ radiusMetres: 10_000, windowMinutes: 24 * 60, windowDays: 92 })

export interface TraceOptions {
  /** The user's points from this time (inclusive, ms since the epoch). */
  readonly since: number
  /** … until this time (exclusive). */
  readonly until: number
  /** R: how close, in metres (0 < R <= 10,000). */
  readonly radiusMetres: number
  /** T: how far apart in time, in minutes (0 <= T <= 1,440). */
  readonly windowMinutes: number
}

export interface TracePoint {
  readonly time: number
  readonly lat: number
  readonly lon: number
  /** Horizontal accuracy the device reported, in metres. */
  readonly acc: number
  /** Position of the location entry in its chain. */
  readonly seq: number
}

export interface TraceMatch {
  readonly mine: TracePoint
  readonly theirs: TracePoint
  readonly distanceMetres: number
  /** |their time − my time| in minutes. */
  readonly minutesApart: number
}

export interface TraceContact {
  readonly userId: UserId
  readonly matches: TraceMatch[]
}

/** One of the user's own points, as either backend returns it. */
export interface PointRow extends TracePoint { uid: number }
/** A candidate as SQLite returns it in raw mode: [uid, seq, time, lat, lon, acc]. */
export type CandidateRow = [number, number, number, number, number, number]

export class TraceQuery {
  private readonly mine
  private readonly inCells
  private readonly inRange
  private readonly userOf

  constructor (db: Db) {
    this.mine = db.prepare('SELECT uid, seq, time, lat, lon, acc FROM locations WHERE uid = ? AND time >= ? AND time < ? ORDER BY time, seq, id')
    // One seek of (cell, time) per listed cell (a JSON array of cells); a row range of cells for boxes too wide to list.
    // The box itself is checked in SQL too: a cell is far larger than a usual radius's box, and building a JS row for
    // each of its other points cost more than the seek (in the bench, half the candidates).
    // Raw rows, and no join for the user id (looked up once per user below): the query runs once per point.
    const box = 'AND lat >= ? AND lat <= ? AND lon >= ? AND lon <= ?'
    this.inCells = db.prepare(`SELECT uid, seq, time, lat, lon, acc FROM locations
      WHERE cell IN (SELECT value FROM json_each(?)) AND time >= ? AND time <= ? ${box}`).raw()
    this.inRange = db.prepare(`SELECT uid, seq, time, lat, lon, acc FROM locations
      WHERE cell >= ? AND cell <= ? AND time >= ? AND time <= ? ${box}`).raw()
    this.userOf = db.prepare('SELECT user_id FROM chains WHERE uid = ?').pluck()
  }

  run (uid: number | undefined, opts: TraceOptions): TraceContact[] {
    const { since, until, radius, windowMs } = traceParams(opts)
    if (uid === undefined) return []
    const found = new TraceMatches(uid, radius, windowMs)
    for (const me of this.mine.all(uid, since, until) as PointRow[]) {
      const lo = me.time - windowMs
      const hi = me.time + windowMs
      for (const box of boxesAround(me.lat, me.lon, radius)) {
        const cells = cellsOf(box)
        const within = [box.minLat, box.maxLat, box.minLon, box.maxLon]
        if ('cells' in cells) {
          found.add(me, this.inCells.all(JSON.stringify(cells.cells), lo, hi, ...within) as CandidateRow[])
        } else {
          for (const [first, last] of cells.ranges) found.add(me, this.inRange.all(first, last, lo, hi, ...within) as CandidateRow[])
        }
      }
    }
    return found.contacts((cuid) => this.userOf.get(cuid) as UserId)
  }
}

/** Checks a trace's arguments (BAD_REQUEST naming the field): the window, R in metres and T in milliseconds. */
export function traceParams (opts: TraceOptions): { since: number, until: number, radius: number, windowMs: number } {
  const { since, until } = checkWindow(opts.since, opts.until, TRACE_LIMITS.windowDays)
  const radius = checkNumber(opts.radiusMetres, 'radiusMetres', Number.MIN_VALUE, TRACE_LIMITS.radiusMetres)
  const windowMinutes = checkNumber(opts.windowMinutes, 'windowMinutes', 0, TRACE_LIMITS.windowMinutes)
  return { since, until, radius, windowMs: windowMinutes * 60_000 }
}

/**
 * The exact test and the grouping, shared by every backend: a backend's
 * spatial index only proposes candidates (any superset of the true ones),
 * and the haversine distance and the time apart decide here, so both
 * backends answer alike.
 */
export class TraceMatches {
  private readonly byUser = new Map<number, TraceMatch[]>()

  constructor (private readonly uid: number, private readonly radius: number, private readonly windowMs: number) {}

  /** Keeps the candidates within R and T of one of the user's points. */
  add (me: PointRow, candidates: Iterable<CandidateRow>): void {
    let mine: TracePoint | undefined
    for (const [cuid, seq, time, lat, lon, acc] of candidates) {
      if (cuid === this.uid) continue
      const apart = Math.abs(time - me.time)
      if (apart > this.windowMs) continue
      const distance = haversineMetres(me.lat, me.lon, lat, lon)
      if (distance > this.radius) continue
      let list = this.byUser.get(cuid)
      if (list === undefined) this.byUser.set(cuid, list = [])
      mine ??= pointOf(me)
      list.push({ mine, theirs: { time, lat, lon, acc, seq }, distanceMetres: distance, minutesApart: apart / 60_000 })
    }
  }

  /** The contacts, by user id, each one's matches in time order. */
  contacts (userOf: (uid: number) => UserId): TraceContact[] {
    const contacts = [...this.byUser].map(([cuid, matches]) => ({ userId: userOf(cuid), matches: matches.sort(byTimes) }))
    return contacts.sort((a, b) => a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
  }

  /** The uids that matched (a backend looks their user ids up in one go). */
  get uids (): number[] { return [...this.byUser.keys()] }
}

function pointOf (r: PointRow): TracePoint {
  return { time: r.time, lat: r.lat, lon: r.lon, acc: r.acc, seq: r.seq }
}

function byTimes (a: TraceMatch, b: TraceMatch): number {
  return a.mine.time - b.mine.time || a.theirs.time - b.theirs.time || a.mine.seq - b.mine.seq || a.theirs.seq - b.theirs.seq ||
    a.theirs.lat - b.theirs.lat || a.theirs.lon - b.theirs.lon
}
