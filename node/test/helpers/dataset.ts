/**
 * A realistic, deterministic data set written into a real Ledger (Corestore
 * on disk), and the ground truth of what was written — for the query-index
 * tests and benchmarks. It lives with node's test helpers because the query
 * index (node's) is what it exists for; the benchmark and the command line
 * (scripts/generate-dataset.ts) import it from here, and no test imports a
 * script.
 *
 * What it writes (every random choice comes from a seeded PRNG, one stream
 * per purpose and per user, so the same options give the same data; only
 * sealing nonces and signatures' randomness-free bytes differ between runs):
 *
 * - A registry with two examiners (`hospital-a`, the custodian of every
 *   chain, and `clinic-b`) and an inquirer (`agency`); N users enrolled.
 * - Exams (a few per year per user, by either examiner): blood pressure,
 *   heart rate, glucose, total cholesterol, BMI and body weight around each
 *   person's own baseline — so some people are often out of range — now and
 *   then with the lab's own reference range, a text finding, or a weight in
 *   pounds. Each exam's SEALED segment carries a note with `sealedMarker`
 *   and a sealed-only observation (2345-7): the index must never hold either.
 * - Exercise on most days: steps, distance, active energy, heart rate.
 * - Location: a point every 15 minutes from 07:00 to 23:00 (UTC), moving
 *   between home, work, lunch and favourite places in a city, with GPS noise;
 *   one location entry per day.
 * - PLANTED contacts: pairs of users placed within 0.8 R metres and 0.8 T
 *   minutes of each other at known times; PLANTED near-misses: just outside
 *   R (1.15–1.5 R, within T/2) or just outside T (1.15–1.5 T, within R/2).
 *
 * So that the planted contacts are exactly the contacts, everyone's usual
 * places are kept at least 110 m apart, and any remaining background point
 * within 2R and 2T of another user's point is dropped (a few per day at
 * most): contact tracing with R and T must find exactly the planted
 * contacts and none of the near-misses.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir } from 'node:fs/promises'
import {
  buildExam, buildGenesis, buildUserEntry, signEntry, userIdFromKey,
  type ExamPlain, type ExamSealed, type ExercisePlain, type InstitutionId, type LocationPlain, type Observation,
  type PartyKeys, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type UserChain } from '@healthchain/ledger'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export interface DatasetOptions {
  /** The ledger's directory (created; must be empty). */
  readonly dir: string
  readonly users?: number
  readonly days?: number
  /** First day, ms since the epoch at 00:00 UTC (default 2025-01-01). */
  readonly start?: number
  readonly seed?: string
  /** Planted contacts (default max(4, users / 10)). */
  readonly contacts?: number
  /** Planted near-misses (default as many as contacts). */
  readonly nearMisses?: number
  /** R: the contact distance the plants are made for, metres (default 25). */
  readonly radiusMetres?: number
  /** T: the contact time window, minutes (default 15). */
  readonly windowMinutes?: number
  /** Exams per user per year (default 4; every user gets at least one). */
  readonly examsPerYear?: number
  /** Keep every written entry in the result (default true; turn off for big runs). */
  readonly keepEntries?: boolean
  readonly onProgress?: (daysDone: number, days: number) => void
}

export interface GeoPoint { readonly time: number, readonly lat: number, readonly lon: number, readonly acc: number }

export interface PlantedPair {
  readonly a: UserId
  readonly b: UserId
  readonly aPoint: GeoPoint
  readonly bPoint: GeoPoint
  /** Positions of the location entries holding the points. */
  readonly aSeq: number
  readonly bSeq: number
  readonly distanceMetres: number
  readonly minutesApart: number
}

export interface PlantedNearMiss extends PlantedPair {
  /** Which bound it misses: just beyond R, or just beyond T. */
  readonly kind: 'distance' | 'time'
}

export type RawEntry =
  | { readonly seq: number, readonly type: 'exam', readonly time: number, readonly author: string, readonly plain: ExamPlain, readonly sealed: ExamSealed }
  | { readonly seq: number, readonly type: 'exercise', readonly time: number, readonly author: string, readonly plain: ExercisePlain }
  | { readonly seq: number, readonly type: 'location', readonly time: number, readonly author: string, readonly plain: LocationPlain }

export interface DatasetUser {
  readonly userId: UserId
  readonly keys: UserKeys
  readonly chainKey: Uint8Array
}

export interface DatasetInstitution { readonly id: InstitutionId, readonly keys: PartyKeys }

export interface Dataset {
  /** Open; the caller closes it. */
  readonly ledger: Ledger
  readonly governance: PartyKeys
  readonly institutions: { readonly hospital: DatasetInstitution, readonly clinic: DatasetInstitution, readonly agency: DatasetInstitution }
  readonly users: DatasetUser[]
  readonly start: number
  readonly days: number
  readonly radiusMetres: number
  readonly windowMinutes: number
  readonly contacts: PlantedPair[]
  readonly nearMisses: PlantedNearMiss[]
  /** Text in every sealed note: it must never appear in the index. */
  readonly sealedMarker: string
  /** The code only sealed segments carry. */
  readonly sealedCode: string
  /** Every entry written, per user, in position order (empty lists when keepEntries is false). */
  readonly entries: Map<UserId, RawEntry[]>
  readonly totals: { entries: number, exams: number, exercise: number, locationEntries: number, locationPoints: number, droppedPoints: number }
}

// ---------------------------------------------------------------- randomness

/** sfc32, seeded from SHA-256 of the seed and a stream label: small, fast, and good enough for test data. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: string, ...stream: Array<string | number>) {
    const h = createHash('sha256').update([seed, ...stream].join('/')).digest()
    this.a = h.readUInt32LE(0); this.b = h.readUInt32LE(4); this.c = h.readUInt32LE(8); this.d = h.readUInt32LE(12)
    for (let i = 0; i < 12; i++) this.next()
  }

  /** Uniform in [0, 1). */
  next (): number {
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0
    let t = (this.a + this.b) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.d = (this.d + 1) | 0
    t = (t + this.d) | 0
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  between (lo: number, hi: number): number { return lo + (hi - lo) * this.next() }
  int (n: number): number { return Math.floor(this.next() * n) }
  chance (p: number): boolean { return this.next() < p }
  normal (mean: number, sd: number): number {
    const u = 1 - this.next()
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(256)
    return out
  }
}

function keysFrom (rng: Rng): PartyKeys {
  const sign = crypto.signKeyPairFromSeed(rng.bytes(32))
  const boxSecret = rng.bytes(32)
  return { sign, box: { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret } }
}

// ---------------------------------------------------------------- geography

/** A city centre; positions are kept as metres east/north of it and turned into degrees when written. */
const CITY = { lat: 47.3769, lon: 8.5417, radius: 12_000 }
const M_PER_DEG_LAT = 111_195
const M_PER_DEG_LON = M_PER_DEG_LAT * Math.cos(CITY.lat * Math.PI / 180)

interface Xy { x: number, y: number }

function toLatLon (p: Xy): { lat: number, lon: number } {
  // Rounded to 1e-7 degrees (about a centimetre), as phones report.
  return { lat: Math.round((CITY.lat + p.y / M_PER_DEG_LAT) * 1e7) / 1e7, lon: Math.round((CITY.lon + p.x / M_PER_DEG_LON) * 1e7) / 1e7 }
}

/** Haversine on the mean-radius sphere (the generator's own, so tests do not check the index against itself). */
export function distanceMetres (a: { lat: number, lon: number }, b: { lat: number, lon: number }): number {
  const r = Math.PI / 180
  const s = Math.sin((b.lat - a.lat) * r / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin((b.lon - a.lon) * r / 2) ** 2
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(s)))
}

function inDisk (rng: Rng, radius: number, centre: Xy = { x: 0, y: 0 }): Xy {
  const r = radius * Math.sqrt(rng.next())
  const a = rng.between(0, 2 * Math.PI)
  return { x: centre.x + r * Math.cos(a), y: centre.y + r * Math.sin(a) }
}

/** Places kept apart: a grid of cells as large as the separation. */
class Separated {
  private readonly cells = new Map<string, Xy[]>()
  constructor (private readonly gap: number) {}
  private key (cx: number, cy: number): string { return `${cx},${cy}` }
  fits (p: Xy): boolean {
    const cx = Math.floor(p.x / this.gap)
    const cy = Math.floor(p.y / this.gap)
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const q of this.cells.get(this.key(cx + dx, cy + dy)) ?? []) if (Math.hypot(p.x - q.x, p.y - q.y) < this.gap) return false
      }
    }
    return true
  }

  add (p: Xy): void {
    const k = this.key(Math.floor(p.x / this.gap), Math.floor(p.y / this.gap))
    const list = this.cells.get(k)
    if (list === undefined) this.cells.set(k, [p])
    else list.push(p)
  }

  place (rng: Rng, radius: number): Xy {
    for (let i = 0; i < 1000; i++) {
      const p = inDisk(rng, radius)
      if (this.fits(p)) { this.add(p); return p }
    }
    throw new Error('the city is too crowded for this many users: no place left at the required separation')
  }
}

// ---------------------------------------------------------------- people

interface Profile {
  readonly index: number
  readonly keys: UserKeys
  readonly home: Xy
  readonly work: Xy
  readonly favourites: readonly [Xy, Xy]
  /** Minutes past each quarter hour this phone samples at. */
  readonly phase: number
  readonly base: { sys: number, dia: number, hr: number, glucose: number, cholesterol: number, bmi: number, weight: number, steps: number, stride: number, exerciseHr: number }
  /** Day index → exam times that day. */
  readonly exams: Map<number, number[]>
}

function profileOf (seed: string, index: number, places: Separated, days: number, start: number, examsPerYear: number): Profile {
  const rng = new Rng(seed, 'user', index)
  const party = keysFrom(new Rng(seed, 'user-keys', index))
  const keys: UserKeys = { ...party, userId: userIdFromKey(party.sign.publicKey) }
  const home = places.place(rng, CITY.radius)
  const work = places.place(rng, CITY.radius * 0.45)
  const favourites: [Xy, Xy] = [places.place(rng, CITY.radius * 0.6), places.place(rng, CITY.radius * 0.6)]
  const weight = Math.max(45, rng.normal(76, 14))
  const height = Math.max(1.5, rng.normal(1.72, 0.09))
  const base = {
    sys: rng.normal(121, 13), dia: rng.normal(78, 8), hr: rng.normal(71, 9), glucose: rng.normal(94, 11),
    cholesterol: rng.normal(192, 32), bmi: weight / (height * height), weight,
    steps: Math.max(2000, rng.normal(8200, 2600)), stride: rng.between(0.66, 0.82), exerciseHr: rng.normal(112, 12)
  }
  const expected = examsPerYear * days / 365
  const count = Math.max(1, Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0))
  const exams = new Map<number, number[]>()
  for (let i = 0; i < count; i++) {
    const day = rng.int(days)
    const time = start + day * DAY + Math.round(rng.between(8, 16) * 60) * MINUTE
    exams.set(day, [...(exams.get(day) ?? []), time].sort((a, b) => a - b))
  }
  return { index, keys, home, work, favourites, phase: rng.int(15), base, exams }
}

const round = (v: number, digits = 0): number => Math.round(v * 10 ** digits) / 10 ** digits

function examPlain (p: Profile, rng: Rng): ExamPlain {
  const observations: Observation[] = []
  // A lab writes its own reference range on about half of its results; one lab's glucose range differs from the textbook's.
  const withRange = (o: Observation, low?: number, high?: number): Observation =>
    rng.chance(0.5) ? { ...o, ...(low === undefined ? {} : { low }), ...(high === undefined ? {} : { high }) } : o
  if (rng.chance(0.95)) {
    observations.push(withRange({ code: '8480-6', value: round(rng.normal(p.base.sys, 8)), unit: 'mm[Hg]' }, 90, 120))
    observations.push(withRange({ code: '8462-4', value: round(rng.normal(p.base.dia, 6)), unit: 'mm[Hg]' }, 60, 80))
  }
  if (rng.chance(0.9)) observations.push(withRange({ code: '8867-4', value: round(rng.normal(p.base.hr, 6)), unit: '/min' }, 60, 100))
  if (rng.chance(0.8)) observations.push(withRange({ code: '2339-0', value: round(rng.normal(p.base.glucose, 9)), unit: 'mg/dL' }, 74, 106))
  if (rng.chance(0.7)) observations.push(withRange({ code: '2093-3', value: round(rng.normal(p.base.cholesterol, 12)), unit: 'mg/dL' }, undefined, 200))
  const weight = rng.normal(p.base.weight, 1.5)
  if (rng.chance(0.85)) observations.push({ code: '39156-5', value: round(p.base.bmi * weight / p.base.weight, 1), unit: 'kg/m2' })
  if (rng.chance(0.85)) {
    observations.push(rng.chance(0.05)
      ? { code: '29463-7', value: round(weight * 2.20462, 1), unit: '[lb_av]' }
      : { code: '29463-7', value: round(weight, 1), unit: 'kg' })
  }
  if (rng.chance(0.15)) observations.push({ code: '8601-7', value: rng.chance(0.9) ? 'sinus rhythm' : 'sinus tachycardia' })
  return { title: rng.chance(0.7) ? 'Annual check-up' : 'Follow-up visit', observations }
}

function exercisePlain (p: Profile, rng: Rng, dayStart: number): ExercisePlain {
  const start = dayStart + Math.round(rng.between(6, 20) * 60) * MINUTE
  const end = start + Math.round(rng.between(20, 90)) * MINUTE
  const steps = Math.round(Math.min(40_000, Math.max(200, rng.normal(p.base.steps, 2500))))
  const observations: Observation[] = [
    { code: '55423-8', value: steps, unit: '{steps}' },
    { code: '55430-3', value: round(steps * p.base.stride, 1), unit: 'm' },
    { code: '41981-2', value: round(Math.max(0, steps * 0.045 * p.base.weight / 75 + rng.normal(0, 20)), 1), unit: 'kcal' }
  ]
  if (rng.chance(0.8)) observations.push({ code: '8867-4', value: round(rng.normal(p.base.exerciseHr, 8)), unit: '/min' })
  return { start, end, observations }
}

// ---------------------------------------------------------------- tracks

interface TrackPoint { user: number, xy: Xy, time: number, acc: number, planted: boolean, removed: boolean }

function lerp (a: Xy, b: Xy, f: number): Xy { return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f } }

/** Where a person is at hour `h` of a day (before GPS noise). */
function whereAt (p: Profile, h: number, weekend: boolean, day: { lunch: Xy, evening: Xy | undefined, outA: Xy | undefined, outB: Xy | undefined }): Xy {
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

function trackOf (p: Profile, seed: string, d: number, dayStart: number): TrackPoint[] {
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
    points.push({ user: p.index, xy: { x: at.x + rng.normal(0, 6), y: at.y + rng.normal(0, 6) }, time, acc: round(4 + Math.abs(rng.normal(0, 8)), 1), planted: false, removed: false })
  }
  return points
}

/**
 * Drops every background point within `gapM` metres and `gapMs` of another
 * user's point (planted points are never dropped), so the only contacts left
 * are the planted ones. Returns how many were dropped.
 */
function keepApart (points: TrackPoint[], gapM: number, gapMs: number): number {
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

interface Plant {
  readonly kind: 'contact' | 'distance' | 'time'
  readonly day: number
  readonly a: number
  readonly b: number
  readonly aPoint: TrackPoint
  readonly bPoint: TrackPoint
}

/** Plans the planted pairs: distinct users, on random days, at spots and times far from each other's. */
function planPlants (seed: string, users: number, days: number, start: number, counts: { contact: number, distance: number, time: number }, R: number, T: number): Plant[] {
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
function plantInto (track: TrackPoint[], point: TrackPoint): void {
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

export async function generateDataset (opts: DatasetOptions): Promise<Dataset> {
  const users = opts.users ?? 1000
  const days = opts.days ?? 365
  const start = opts.start ?? Date.UTC(2025, 0, 1)
  const seed = opts.seed ?? 'healthchain'
  const R = opts.radiusMetres ?? 25
  const T = opts.windowMinutes ?? 15
  const contactCount = opts.contacts ?? Math.max(4, Math.floor(users / 10))
  const nearMissCount = opts.nearMisses ?? contactCount
  const keepEntries = opts.keepEntries ?? true
  if (!Number.isInteger(users) || users < 2) throw new Error('users: at least 2')
  if (!Number.isInteger(days) || days < 1) throw new Error('days: at least 1')
  if (start % DAY !== 0) throw new Error('start: midnight UTC')

  await mkdir(opts.dir, { recursive: true })
  if ((await readdir(opts.dir)).length > 0) throw new Error(`${opts.dir} is not empty: the data set is written into a new ledger`)

  const rng = new Rng(seed, 'consortium')
  const governance = keysFrom(rng)
  const institutions = {
    hospital: { id: 'hospital-a' as InstitutionId, keys: keysFrom(rng) },
    clinic: { id: 'clinic-b' as InstitutionId, keys: keysFrom(rng) },
    agency: { id: 'agency' as InstitutionId, keys: keysFrom(rng) }
  }
  const sealedMarker = `hc-sealed-marker-${Buffer.from(rng.bytes(8)).toString('hex')}`
  const sealedCode = '2345-7'

  const ledger = await Ledger.open({ dir: opts.dir, institution: institutions.hospital.id, crypto })
  try {
    const registry = await ledger.createRegistry(governance.sign, 'Generated consortium')
    for (const [inst, role] of [[institutions.hospital, 'examiner'], [institutions.clinic, 'examiner'], [institutions.agency, 'inquirer']] as const) {
      await registry.append('admit', { institution: inst.id, name: inst.id, role, sign: inst.keys.sign.publicKey, box: inst.keys.box.publicKey }, governance.sign)
    }

    const places = new Separated(110)
    const profiles = Array.from({ length: users }, (_, i) => profileOf(seed, i, places, days, start, opts.examsPerYear ?? 4))
    const chains: UserChain[] = []
    const datasetUsers: DatasetUser[] = []
    for (const p of profiles) {
      const chainKey = await ledger.chainKeyFor(p.keys.userId)
      const genesis = signEntry(buildGenesis(p.keys, institutions.hospital.id, { id: new Rng(seed, 'genesis', p.index).bytes(16), time: start - DAY }, crypto), { chainKey, seq: 0 }, p.keys.sign.secretKey, crypto)
      chains.push(await ledger.enrol(genesis))
      datasetUsers.push({ userId: p.keys.userId, keys: p.keys, chainKey })
    }

    const third = Math.floor(nearMissCount / 2)
    const plants = planPlants(seed, users, days, start, { contact: contactCount, distance: nearMissCount - third, time: third }, R, T)
    const entries = new Map<UserId, RawEntry[]>(profiles.map((p) => [p.keys.userId, []]))
    const nextSeq = profiles.map(() => 1)
    const totals = { entries: users, exams: 0, exercise: 0, locationEntries: 0, locationPoints: 0, droppedPoints: 0 }
    const plantedSeqs = new Map<TrackPoint, number>()

    for (let d = 0; d < days; d++) {
      const dayStart = start + d * DAY
      const tracks = profiles.map((p) => trackOf(p, seed, d, dayStart))
      for (const plant of plants.filter((q) => q.day === d)) {
        plantInto(tracks[plant.a]!, plant.aPoint)
        plantInto(tracks[plant.b]!, plant.bPoint)
      }
      totals.droppedPoints += keepApart(tracks.flat(), 2 * R, 2 * T * MINUTE)

      const writes: Array<Promise<unknown>> = []
      for (const p of profiles) {
        const chain = chains[p.index]!
        const userId = p.keys.userId
        const rngDay = new Rng(seed, 'day', p.index, d)
        const pending: Array<{ time: number, write: (seq: number) => Promise<unknown>, raw: (seq: number) => RawEntry }> = []
        for (const time of p.exams.get(d) ?? []) {
          const author = rngDay.chance(0.7) ? institutions.hospital : institutions.clinic
          const plain = examPlain(p, rngDay)
          const sealed: ExamSealed = {
            observations: [{ code: sealedCode, value: round(rngDay.normal(5.2, 0.6), 2), unit: 'mmol/L' }],
            notes: `${sealedMarker} — confidential clinical note for exam at ${new Date(time).toISOString()}`
          }
          const id = rngDay.bytes(16)
          pending.push({
            time,
            write: async () => await chain.appendSigned(buildExam({
              author: author.id, reg: registry.length, chainKey: chain.key, plain, sealed,
              recipients: chain.examRecipients(author.keys.box.publicKey, time), time, id
            }, crypto), author.keys.sign),
            raw: (seq) => ({ seq, type: 'exam', time, author: author.id, plain, sealed })
          })
          totals.exams++
        }
        if (rngDay.chance(0.85)) {
          const plain = exercisePlain(p, rngDay, dayStart)
          const id = rngDay.bytes(16)
          pending.push({
            time: plain.end,
            write: async (seq) => await chain.append(signEntry(buildUserEntry('exercise', plain, { id, time: plain.end }, crypto), { chainKey: chain.key, seq }, p.keys.sign.secretKey, crypto), seq),
            raw: (seq) => ({ seq, type: 'exercise', time: plain.end, author: 'user', plain })
          })
          totals.exercise++
        }
        const kept = tracks[p.index]!.filter((t) => !t.removed)
        if (kept.length > 0) {
          const plain: LocationPlain = { points: kept.map((t) => ({ ...toLatLon(t.xy), acc: t.acc, time: t.time })) }
          const time = dayStart + 23 * HOUR + 5 * MINUTE
          const id = rngDay.bytes(16)
          pending.push({
            time,
            write: async (seq) => {
              const result = await chain.append(signEntry(buildUserEntry('location', plain, { id, time }, crypto), { chainKey: chain.key, seq }, p.keys.sign.secretKey, crypto), seq)
              for (const t of kept) if (t.planted) plantedSeqs.set(t, result.seq)
              return result
            },
            raw: (seq) => ({ seq, type: 'location', time, author: 'user', plain })
          })
          totals.locationEntries++
          totals.locationPoints += kept.length
        }
        // Entries take positions in time order; all are queued at once (one chain's queue keeps them in order).
        pending.sort((x, y) => x.time - y.time)
        for (const item of pending) {
          const seq = nextSeq[p.index]!++
          writes.push(item.write(seq).then((result) => {
            if ((result as { seq: number }).seq !== seq) throw new Error(`an entry took position ${(result as { seq: number }).seq}, expected ${seq}`)
          }))
          if (keepEntries) entries.get(userId)!.push(item.raw(seq))
          totals.entries++
        }
      }
      await Promise.all(writes)
      opts.onProgress?.(d + 1, days)
    }

    const pairOf = (plant: Plant): PlantedPair => {
      const a = toLatLon(plant.aPoint.xy)
      const b = toLatLon(plant.bPoint.xy)
      return {
        a: profiles[plant.a]!.keys.userId,
        b: profiles[plant.b]!.keys.userId,
        aPoint: { time: plant.aPoint.time, ...a, acc: plant.aPoint.acc },
        bPoint: { time: plant.bPoint.time, ...b, acc: plant.bPoint.acc },
        aSeq: plantedSeqs.get(plant.aPoint)!,
        bSeq: plantedSeqs.get(plant.bPoint)!,
        distanceMetres: distanceMetres(a, b),
        minutesApart: Math.abs(plant.bPoint.time - plant.aPoint.time) / MINUTE
      }
    }
    return {
      ledger,
      governance,
      institutions,
      users: datasetUsers,
      start,
      days,
      radiusMetres: R,
      windowMinutes: T,
      contacts: plants.filter((q) => q.kind === 'contact').map(pairOf),
      nearMisses: plants.filter((q) => q.kind !== 'contact').map((q) => ({ ...pairOf(q), kind: q.kind as 'distance' | 'time' })),
      sealedMarker,
      sealedCode,
      entries,
      totals
    }
  } catch (err) {
    await ledger.close().catch(() => {})
    throw err
  }
}
