/** Where each person is through a day, and the contacts and near-misses planted into those tracks. */
import { DAY, HOUR, MINUTE, Rng } from './model.js'
import { CITY, distanceMetres, inDisk, toLatLon, type Xy } from './geography.js'
import { type Profile, round } from './people.js'

export interface TrackPoint { user: number, xy: Xy, time: number, acc: number, planted: boolean, removed: boolean }

export function lerp (a: Xy, b: Xy, f: number): Xy { return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f } }

/** Where a person is at hour `h` of a day (before GPS noise). */
export function whereAt (p: Profile, h: number, weekend: boolean, day: { lunch: Xy, evening: Xy | undefined, outA: Xy | undefined, outB: Xy | undefined }): Xy {
  if (weekend) {
    if (h >= 10 && h < 13 && day.outA !== undefined) return day.outA
    if (h >= 15 && h < 18 && day.outB !== undefined) return day.outB
    return p.home
  }
  if (h < 8.25) return p.home
  if (h < 9) return lerp(p.home, p.work, (h - 8.25) / 0.75)
  if (h < 12) return p.work
  if (h < 13) return day.lunch
  if (h < 17) return p.work
  if (h < 17.75) return lerp(p.work, p.home, (h - 17) / 0.75)
  if (h < 19.5 && day.evening !== undefined) return day.evening
  return p.home
}

export function trackOf (p: Profile, seed: string, d: number, dayStart: number): TrackPoint[] {
  const rng = new Rng(seed, 'track', p.index, d)
  if (rng.chance(0.03)) return [] // phone off all day
  const weekend = [0, 6].includes(new Date(dayStart).getUTCDay())
  const day = {
    lunch: inDisk(rng, 400, p.work),
    evening: rng.chance(0.4) ? p.favourites[rng.int(2)] : undefined,
    outA: rng.chance(0.7) ? p.favourites[0] : undefined,
    outB: rng.chance(0.5) ? p.favourites[1] : undefined
  }
  const points: TrackPoint[] = []
  for (let k = 0; k < 64; k++) {
    const time = dayStart + 7 * HOUR + (p.phase + 15 * k) * MINUTE + Math.round(rng.between(-30, 30) * 1000)
    const at = whereAt(p, (time - dayStart) / HOUR, weekend, day)
    points.push({
      user: p.index,
      xy: { x: at.x + rng.normal(0, 6), y: at.y + rng.normal(0, 6) },
      time,
      acc: round(4 + Math.abs(rng.normal(0, 8)), 1),
      planted: false,
      removed: false
    })
  }
  return points
}

/**
 * Drops every background point within `gapM` metres and `gapMs` of another
 * user's point (planted points are never dropped), so the only contacts left
 * are the planted ones. Returns how many were dropped.
 */
export function keepApart (points: TrackPoint[], gapM: number, gapMs: number): number {
  const cells = new Map<string, TrackPoint[]>()
  const cellOf = (p: TrackPoint): [number, number, number] => [Math.floor(p.xy.x / gapM), Math.floor(p.xy.y / gapM), Math.floor(p.time / gapMs)]
  for (const p of points) {
    const k = cellOf(p).join(',')
    const list = cells.get(k)
    if (list === undefined) cells.set(k, [p])
    else list.push(p)
  }
  let dropped = 0
  for (const p of points) {
    if (p.planted) continue
    const [cx, cy, ct] = cellOf(p)
    let clash = false
    for (let dx = -1; dx <= 1 && !clash; dx++) {
      for (let dy = -1; dy <= 1 && !clash; dy++) {
        for (let dt = -1; dt <= 1 && !clash; dt++) {
          for (const q of cells.get(`${cx + dx},${cy + dy},${ct + dt}`) ?? []) {
            if (q.user === p.user || q.removed) continue
            if (Math.abs(q.time - p.time) <= gapMs && Math.hypot(q.xy.x - p.xy.x, q.xy.y - p.xy.y) <= gapM) { clash = true; break }
          }
        }
      }
    }
    if (clash) { p.removed = true; dropped++ }
  }
  return dropped
}

export interface Plant {
  readonly kind: 'contact' | 'distance' | 'time'
  readonly day: number
  readonly a: number
  readonly b: number
  readonly aPoint: TrackPoint
  readonly bPoint: TrackPoint
}

/** Plans the planted pairs: distinct users, on random days, at spots and times far from each other's. */
export function planPlants (
  seed: string, users: number, days: number, start: number, counts: { contact: number, distance: number, time: number }, R: number, T: number
): Plant[] {
  const rng = new Rng(seed, 'plants')
  const plants: Plant[] = []
  const pairs = new Set<string>()
  const want: Array<Plant['kind']> = [
    ...Array<Plant['kind']>(counts.contact).fill('contact'), ...Array<Plant['kind']>(counts.distance).fill('distance'), ...Array<Plant['kind']>(counts.time).fill('time')
  ]
  for (const kind of want) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 10_000) throw new Error('cannot place the planted contacts: too many for this data set')
      const day = rng.int(days)
      const a = rng.int(users)
      const b = rng.int(users)
      // Each pair once: a near-miss pair is then never also a contact.
      const pair = a < b ? `${a},${b}` : `${b},${a}`
      if (a === b || pairs.has(pair)) continue
      const spot = inDisk(rng, CITY.radius * 0.8)
      const time = start + day * DAY + Math.round(rng.between(9.5, 21) * 60) * MINUTE + rng.int(60) * 1000
      // Far from every other plant: 2 km, or 3 hours.
      if (plants.some((q) => Math.abs(q.aPoint.time - time) < 3 * HOUR && Math.hypot(q.aPoint.xy.x - spot.x, q.aPoint.xy.y - spot.y) < 2000)) continue
      const near = kind !== 'distance'
      const distance = near ? rng.between(0, kind === 'contact' ? 0.8 * R : 0.5 * R) : rng.between(1.15 * R, 1.5 * R)
      const minutes = kind === 'time' ? rng.between(1.15 * T, 1.5 * T) : rng.between(0, kind === 'contact' ? 0.8 * T : 0.5 * T)
      const angle = rng.between(0, 2 * Math.PI)
      const bXy = { x: spot.x + distance * Math.cos(angle), y: spot.y + distance * Math.sin(angle) }
      const bTime = time + Math.round((rng.chance(0.5) ? 1 : -1) * minutes * MINUTE)
      const aPoint: TrackPoint = { user: a, xy: spot, time, acc: round(rng.between(3, 12), 1), planted: true, removed: false }
      const bPoint: TrackPoint = { user: b, xy: bXy, time: bTime, acc: round(rng.between(3, 12), 1), planted: true, removed: false }
      // Check on the sphere, with the coordinates as written: the margins are wide, but the ground truth must be exact.
      const d = distanceMetres(toLatLon(spot), toLatLon(bXy))
      const apart = Math.abs(bTime - time) / MINUTE
      const ok = kind === 'contact' ? d <= R && apart <= T : kind === 'distance' ? d > 1.1 * R && apart <= T : d <= R && apart > 1.1 * T
      if (!ok) continue
      plants.push({ kind, day, a, b, aPoint, bPoint })
      pairs.add(pair)
      break
    }
  }
  return plants
}

/** Puts a planted point in a track in place of the background point nearest in time (a phone samples about as often either way). */
export function plantInto (track: TrackPoint[], point: TrackPoint): void {
  let nearest = -1
  for (let i = 0; i < track.length; i++) {
    if (track[i]!.planted) continue
    if (nearest === -1 || Math.abs(track[i]!.time - point.time) < Math.abs(track[nearest]!.time - point.time)) nearest = i
  }
  if (nearest !== -1 && Math.abs(track[nearest]!.time - point.time) < 10 * MINUTE) track.splice(nearest, 1)
  track.push(point)
  track.sort((x, y) => x.time - y.time)
}

// ---------------------------------------------------------------- writing
