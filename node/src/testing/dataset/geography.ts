/** The city the data set's people move in: positions in metres around a centre, and distances between them. */
import { Rng } from './model.js'

/** A city centre; positions are kept as metres east/north of it and turned into degrees when written. */
export const CITY = { lat: 47.3769, lon: 8.5417, radius: 12_000 }
export const M_PER_DEG_LAT = 111_195
export const M_PER_DEG_LON = M_PER_DEG_LAT * Math.cos(CITY.lat * Math.PI / 180)

export interface Xy { x: number, y: number }

export function toLatLon (p: Xy): { lat: number, lon: number } {
  // Rounded to 1e-7 degrees (about a centimetre), as phones report.
  return { lat: Math.round((CITY.lat + p.y / M_PER_DEG_LAT) * 1e7) / 1e7, lon: Math.round((CITY.lon + p.x / M_PER_DEG_LON) * 1e7) / 1e7 }
}

/** Haversine on the mean-radius sphere (the generator's own, so tests do not check the index against itself). */
export function distanceMetres (a: { lat: number, lon: number }, b: { lat: number, lon: number }): number {
  const r = Math.PI / 180
  const s = Math.sin((b.lat - a.lat) * r / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin((b.lon - a.lon) * r / 2) ** 2
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(s)))
}

export function inDisk (rng: Rng, radius: number, centre: Xy = { x: 0, y: 0 }): Xy {
  const r = radius * Math.sqrt(rng.next())
  const a = rng.between(0, 2 * Math.PI)
  return { x: centre.x + r * Math.cos(a), y: centre.y + r * Math.sin(a) }
}

/** Places kept apart: a grid of cells as large as the separation. */
export class Separated {
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
