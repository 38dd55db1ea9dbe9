/**
 * The location grid the contact trace looks candidates up in (grid.ts): a
 * point inside a box is always in one of the box's cells, and a trace over
 * the grid finds exactly what a brute-force haversine scan of every point
 * finds — at the antimeridian, near the poles, on cell edges, and with the
 * largest radius (where a box is too wide to list cell by cell and is
 * looked up a row range at a time). Real SQLite, rows written by the
 * index's own writer.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Entry, UserId } from '@healthchain/core'
import { boxesAround, haversineMetres } from '../src/query-index/geo.js'
import { CELLS_PER_DEGREE, MAX_LISTED_CELLS, cellOf, cellsOf } from '../src/query-index/grid.js'
import { IndexWriter } from '../src/query-index/index-writer.js'
import { openDatabase, type Db } from '../src/query-index/schema.js'
import { TRACE_LIMITS, TraceQuery } from '../src/query-index/trace.js'
import { Rng } from '../src/testing/index.js'

const T0 = Date.parse('2026-05-04T08:00:00Z')
const MINUTE = 60_000

const dbs: Db[] = []
afterEach(() => { for (const db of dbs.splice(0)) db.close() })

interface Point { lat: number, lon: number, acc: number, time: number }

/** The places the tests crowd points around: the antimeridian, near both poles, a cell corner, an ordinary city. */
const PLACES = [
  { lat: 0.5, lon: 179.999 }, { lat: -16.5, lon: -179.995 }, { lat: 89.95, lon: 10 }, { lat: -89.9, lon: -120 },
  { lat: 52.01, lon: 13.01 }, { lat: 48.2, lon: 16.37 }
]

function scatter (rng: Rng, around: { lat: number, lon: number }, count: number, spreadDegrees: number): Point[] {
  return Array.from({ length: count }, () => {
    const lat = Math.max(-90, Math.min(90, around.lat + rng.between(-spreadDegrees, spreadDegrees)))
    let lon = around.lon + rng.between(-spreadDegrees, spreadDegrees) * 4
    if (lon > 180) lon -= 360
    if (lon < -180) lon += 360
    return { lat, lon, acc: 5, time: T0 + rng.int(120) * MINUTE }
  })
}

function cellIn (cells: ReturnType<typeof cellsOf>, cell: number): boolean {
  return 'cells' in cells ? cells.cells.includes(cell) : cells.ranges.some(([first, last]) => cell >= first && cell <= last)
}

describe('the location grid', () => {
  it('puts every point inside a box into one of the box\'s cells, on cell edges and at the ends of the axes too', () => {
    const rng = new Rng('grid', 'boxes')
    const edges = [-90, -89.99, 0, 0.01, 45.67, 89.99, 90].flatMap((lat) => [-180, -179.99, 0, 0.01, 13.37, 179.99, 180].map((lon) => ({ lat, lon })))
    for (const centre of [...PLACES, ...edges]) {
      for (const metres of [1, 25, 1000, TRACE_LIMITS.radiusMetres]) {
        for (const box of boxesAround(centre.lat, centre.lon, metres)) {
          const cells = cellsOf(box)
          if ('cells' in cells) expect(cells.cells.length).toBeLessThanOrEqual(MAX_LISTED_CELLS)
          const inside = [
            { lat: box.minLat, lon: box.minLon }, { lat: box.maxLat, lon: box.maxLon }, { lat: box.minLat, lon: box.maxLon },
            ...Array.from({ length: 50 }, () => ({ lat: rng.between(box.minLat, box.maxLat), lon: rng.between(box.minLon, box.maxLon) }))
          ]
          for (const p of inside) expect(cellIn(cells, cellOf(p.lat, p.lon)), `${p.lat}, ${p.lon} within ${metres} m of ${centre.lat}, ${centre.lon}`).toBe(true)
        }
      }
    }
  })

  it('gives neighbouring cells to points a cell apart, and the same cell to both ends of the axes\' last cells', () => {
    const step = 1 / CELLS_PER_DEGREE
    expect(cellOf(10 + step * 0.5, 20)).not.toBe(cellOf(10 + step * 1.5, 20))
    expect(cellOf(10, 20 + step * 1.5) - cellOf(10, 20 + step * 0.5)).toBe(1)
    expect(cellOf(90, 180)).toBe(cellOf(90 - step / 2, 180 - step / 2))
    expect(cellOf(-90, -180)).toBe(0)
  })

  it.each([25, 1000, TRACE_LIMITS.radiusMetres])('a trace of radius %i m finds exactly what a brute-force scan finds', (radiusMetres) => {
    const rng = new Rng('grid', `trace ${radiusMetres}`)
    const db = openDatabase(':memory:')
    dbs.push(db)
    const writer = new IndexWriter(db)
    // Spread so that each radius has both contacts and points just out of reach.
    const spread = radiusMetres / 111_000 * 3
    const users = Array.from({ length: 12 }, (_, i) => ({ user: String(i).padStart(32, 'u') as UserId, points: PLACES.flatMap((p) => scatter(rng, p, 8, spread)) }))
    const uids = new Map<UserId, number>()
    for (const { user, points } of users) {
      const cursor = writer.cursorFor(user, new Uint8Array(32).fill(uids.size + 1))
      uids.set(user, cursor.uid)
      writer.applyBatch(user, cursor, 1, [{ seq: 0, entry: { type: 'location', plain: { points } } as unknown as Entry }])
    }
    const windowMinutes = 30
    const query = new TraceQuery(db)
    let contacts = 0
    let nearMisses = 0
    for (const me of users) {
      const found = query.run(uids.get(me.user), { since: T0, until: T0 + 1 + 120 * MINUTE, radiusMetres, windowMinutes })
      const expected = new Map<UserId, number>()
      for (const other of users) {
        if (other === me) continue
        const inTime = me.points.flatMap((a) => other.points
          .filter((b) => Math.abs(a.time - b.time) <= windowMinutes * MINUTE)
          .map((b) => haversineMetres(a.lat, a.lon, b.lat, b.lon)))
        const pairs = inTime.filter((d) => d <= radiusMetres).length
        nearMisses += inTime.filter((d) => d > radiusMetres && d <= 3 * radiusMetres).length
        contacts += pairs
        if (pairs > 0) expected.set(other.user, pairs)
      }
      expect(new Map(found.map((c) => [c.userId, c.matches.length]))).toEqual(expected)
    }
    // Both kinds exist at every radius: contacts to find, and points just out of reach to leave out.
    expect(contacts).toBeGreaterThan(0)
    expect(nearMisses).toBeGreaterThan(0)
  })

  it('refuses a radius beyond the limit, whatever the grid could look up', () => {
    const db = openDatabase(':memory:')
    dbs.push(db)
    expect(() => new TraceQuery(db).run(1, { since: T0, until: T0 + MINUTE, radiusMetres: TRACE_LIMITS.radiusMetres + 1, windowMinutes: 15 }))
      .toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }))
  })
})
