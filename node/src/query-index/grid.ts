/**
 * The location grid: every point's cell, a plain integer the `locations`
 * table keeps beside the point and indexes with its time, in place of an
 * R*Tree. A cell is 0.01° of latitude by 0.01° of longitude (about 1.1 km
 * north-south, less east-west away from the equator): a contact trace's
 * usual radius (metres to some hundreds of metres) touches one to four
 * cells, and even the largest (10 km) some hundreds, each one index seek.
 *
 * Cells are numbered row by row from the south-west, `row * COLS + col`, so
 * one row's cells from one longitude to another are a contiguous range (the
 * fallback for boxes too wide to list cell by cell, near the poles). Rows
 * and columns are floors of monotonic functions of latitude and longitude,
 * so a point inside a box always falls in a cell between the box's corner
 * cells: the cells of a box are a superset of its points' cells, never
 * fewer, and the exact distance filter (trace.ts) does the rest.
 */
import type { LatLonBox } from './geo.js'

/** Cells per degree, on both axes. */
export const CELLS_PER_DEGREE = 100
const ROWS = 180 * CELLS_PER_DEGREE
const COLS = 360 * CELLS_PER_DEGREE

/** Most cells a box is looked up cell by cell; a wider one is looked up a row range at a time. */
export const MAX_LISTED_CELLS = 2048

function rowOf (lat: number): number {
  return Math.min(ROWS - 1, Math.max(0, Math.floor((lat + 90) * CELLS_PER_DEGREE)))
}

function colOf (lon: number): number {
  return Math.min(COLS - 1, Math.max(0, Math.floor((lon + 180) * CELLS_PER_DEGREE)))
}

/** The cell of a point (latitude in [-90, 90], longitude in [-180, 180], degrees). */
export function cellOf (lat: number, lon: number): number {
  return rowOf(lat) * COLS + colOf(lon)
}

/**
 * The cells a box covers: `cells`, every cell listed, when there are at most
 * MAX_LISTED_CELLS of them; otherwise `ranges`, one [first, last] per row.
 */
export function cellsOf (box: LatLonBox): { cells: number[] } | { ranges: Array<[number, number]> } {
  const r0 = rowOf(box.minLat)
  const r1 = rowOf(box.maxLat)
  const c0 = colOf(box.minLon)
  const c1 = colOf(box.maxLon)
  if ((r1 - r0 + 1) * (c1 - c0 + 1) > MAX_LISTED_CELLS) return { ranges: cellRowsOf(box) }
  const cells: number[] = []
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) cells.push(r * COLS + c)
  return { cells }
}

/** The cells a box covers as one [first, last] range per grid row (a row's cells are consecutive numbers). */
export function cellRowsOf (box: LatLonBox): Array<[number, number]> {
  const c0 = colOf(box.minLon)
  const c1 = colOf(box.maxLon)
  const ranges: Array<[number, number]> = []
  for (let r = rowOf(box.minLat); r <= rowOf(box.maxLat); r++) ranges.push([r * COLS + c0, r * COLS + c1])
  return ranges
}
