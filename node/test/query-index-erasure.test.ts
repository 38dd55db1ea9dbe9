/**
 * The query index's file after rows go: an erasure, a chain indexed again
 * from the start, a schema reset (what `rebuild` does) leave none of the
 * removed rows' bytes in the database file or its WAL — observation texts,
 * location doubles, and the cell index's entries (a point's grid cell
 * beside its time) — while the index is open. What is kept is still found
 * through the cell index, and the file passes SQLite's integrity check.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Entry, UserId } from '@healthchain/core'
import { IndexWriter } from '../src/query-index/index-writer.js'
import { cellOf } from '../src/query-index/grid.js'
import { openDatabase, resetSchema, truncateWal, type Db } from '../src/query-index/schema.js'
import { cellMarker, doubleMarker, findOnDisk, markerText, missingOnDisk, randomCoordinate, textMarker, type Marker } from '../../test/helpers/disk-scan.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

const T0 = Date.parse('2026-05-04T08:00:00Z')
const USER = 'u'.repeat(32) as UserId

const dirs: string[] = []
const dbs: Db[] = []
afterEach(async () => {
  for (const db of dbs.splice(0)) if (db.open) db.close()
  for (const dir of dirs.splice(0)) await removeDir(dir)
})

async function openIndex (): Promise<{ dir: string, db: Db, writer: IndexWriter }> {
  const dir = await makeTempDir('healthchain-index-erasure-')
  dirs.push(dir)
  const db = openDatabase(join(dir, 'index.sqlite'))
  dbs.push(db)
  return { dir, db, writer: new IndexWriter(db) }
}

interface Batch { readonly entry: Entry, readonly markers: Marker[] }

/** A location entry of `count` points, each a marker (its latitude as a double, its grid cell and time in the cell index). */
function location (name: string, count: number, start: number): Batch {
  const points = Array.from({ length: count }, (_, i) => ({
    lat: randomCoordinate(-80, 80), lon: randomCoordinate(-170, 170), acc: 5, time: start + i * 60_000
  }))
  const entry = { type: 'location', plain: { points } } as unknown as Entry
  return { entry, markers: points.flatMap((p, i) => [doubleMarker(`${name} ${i}`, p.lat), cellMarker(`${name} ${i}`, cellOf(p.lat, p.lon), p.time)]) }
}

function exam (text: string): Batch {
  const entry = { type: 'exam', author: 'hospital-a', time: T0, plain: { observations: [{ code: '8251-1', value: text }, { code: '8480-6', value: 121, unit: 'mm[Hg]' }] } } as unknown as Entry
  return { entry, markers: [textMarker(text)] }
}

function erasure (entries: number[]): Entry {
  return { type: 'erasure', plain: { entries } } as unknown as Entry
}

/** Indexes `entries` at positions 1, 2, … in one batch each; returns the cursor's length. */
function indexAll (writer: IndexWriter, entries: readonly Entry[], key = new Uint8Array(32)): number {
  let cursor = writer.cursorFor(USER, key)
  for (const entry of entries) {
    const seq = cursor.indexedLength
    writer.applyBatch(USER, cursor, seq + 1, [{ seq, entry }])
    cursor = { ...cursor, indexedLength: seq + 1 }
  }
  return cursor.indexedLength
}

describe('the query index after rows go', () => {
  it.each([1, 2, 3])('an erasure leaves no byte of its rows in the file or the WAL (run %i)', async () => {
    const { dir, db, writer } = await openIndex()
    const kept = [location('kept before', 200, T0), exam(markerText('KEPT')), location('kept after', 200, T0 + 2 * 86_400_000)]
    const erased = [location('erased', 200, T0 + 86_400_000), exam(markerText('ERASED'))]
    // Positions: 0 kept before, 1 erased points, 2 kept exam, 3 erased exam, 4 kept after.
    indexAll(writer, [kept[0]!.entry, erased[0]!.entry, kept[1]!.entry, erased[1]!.entry, kept[2]!.entry])
    const all = [...erased, ...kept].flatMap((b) => b.markers)
    expect(await missingOnDisk(dir, all), 'the control').toEqual([])

    const cursor = writer.cursorFor(USER, new Uint8Array(32))
    expect(writer.applyBatch(USER, cursor, 6, [{ seq: 5, entry: erasure([1, 3]) }]).erased).toBe(200 + 2)
    expect(await findOnDisk(dir, erased.flatMap((b) => b.markers))).toEqual([])
    expect(await missingOnDisk(dir, kept.flatMap((b) => b.markers))).toEqual([])
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(db.prepare('SELECT count(*) FROM locations INDEXED BY locations_by_cell WHERE cell >= 0').pluck().get()).toBe(400)
    // Every kept point is still found through the cell index.
    const inCell = db.prepare('SELECT count(*) FROM locations INDEXED BY locations_by_cell WHERE cell = ? AND time = ? AND lat = ? AND lon = ?').pluck()
    const points = [kept[0]!, kept[2]!].flatMap((b) => (b.entry.plain as { points: Array<{ lat: number, lon: number, time: number }> }).points)
    expect(points.every((p) => inCell.get(cellOf(p.lat, p.lon), p.time, p.lat, p.lon) === 1)).toBe(true)
  })

  it('a chain indexed again from the start (new key, or shrunk) leaves no byte of its old rows', async () => {
    const { dir, db, writer } = await openIndex()
    const old = [location('old', 300, T0), exam(markerText('OLD'))]
    indexAll(writer, old.map((b) => b.entry))
    expect(await missingOnDisk(dir, old.flatMap((b) => b.markers))).toEqual([])
    const fresh = location('new', 50, T0)
    indexAll(writer, [fresh.entry], new Uint8Array(32).fill(1))
    expect(await findOnDisk(dir, old.flatMap((b) => b.markers))).toEqual([])
    expect(await missingOnDisk(dir, fresh.markers)).toEqual([])
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')

    writer.restart(writer.cursorFor(USER, new Uint8Array(32).fill(1)))
    expect(await findOnDisk(dir, fresh.markers)).toEqual([])
  })

  it('a schema reset (a rebuild\'s first step) leaves no byte of the dropped tables once the WAL is truncated', async () => {
    const { dir, db, writer } = await openIndex()
    const batches = [location('dropped', 300, T0), exam(markerText('DROPPED'))]
    indexAll(writer, batches.map((b) => b.entry))
    truncateWal(db)
    resetSchema(db)
    expect(truncateWal(db)).toBe(true)
    expect(await findOnDisk(dir, batches.flatMap((b) => b.markers))).toEqual([])
  })
})
