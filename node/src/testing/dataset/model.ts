/** The data set's shapes, its seeded random numbers and the time units it counts in. */
import type { Ledger } from '@healthchain/ledger'
import { type ExamPlain, type ExamSealed, type ExercisePlain, type InstitutionId, type LocationPlain, type PartyKeys, type UserId, type UserKeys } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { createHash } from 'node:crypto'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

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

export function keysFrom (rng: Rng): PartyKeys {
  const sign = crypto.signKeyPairFromSeed(rng.bytes(32))
  const boxSecret = rng.bytes(32)
  return { sign, box: { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret } }
}

// ---------------------------------------------------------------- geography
