/**
 * Query-index benchmarks:
 *
 * - Index build rate: a generated data set (@healthchain/node/testing's
 *   generateDataset) written through real chains, then `QueryIndex.rebuild`
 *   (entries per second) measured in turns with the raw read of the same
 *   entries — the ratio says what indexing adds. Target: >= 0.8x the read.
 *   The baseline is a fair one: the same chains in the same state (both
 *   find them open, the read having opened them in the warm-up round), each
 *   read whole with `chain.read` — every block fetched from storage and
 *   decoded and checked as any reader must, the rebuild's own read path.
 *   What the rebuild adds: rows built from the plain segments, SQLite's
 *   inserts, the indexes made at the end, and the empty file it starts
 *   from. What it has that the baseline has not: four chains under way at
 *   once (rebuild-loop.ts), so its reads overlap; a second thread, which
 *   writes the rows and decodes part of the blocks (index-write-thread.ts);
 *   and decodeBlock, the same checks as chain.read's decodeEntry without
 *   freezing and remembering each entry for re-encoding, which the index
 *   never does. The baseline stays what any reader of a chain pays.
 * - Contact tracing over 10 million location points (quick: 200,000) for
 *   one user and 14 days, R = 25 m, T = 15 min: median and p99 of repeated
 *   queries. Writing 10 million points through Hypercores would take the
 *   better part of an hour and measure the chains, not the query, so the
 *   rows of this part are BULK-INSERTED straight into the index's SQLite
 *   `locations` table (with each point's grid cell, exactly the rows indexing writes):
 *   synthetic people with a home and a workplace in a city, a point every
 *   15 minutes from 07:00 to 23:00 over 28 days, and 30 colleagues sharing
 *   the traced user's workplace (so the query has real contacts to find).
 *   Target: < 200 ms.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base32 } from '@scure/base'
import type { UserId } from '@healthchain/core'
import { QueryIndex } from '@healthchain/node'
import { cellOf, generateDataset, Rng } from '@healthchain/node/testing'
import { interleavedRates, median, type Figure } from './measure.js'

const SECTION = 'query-index'
const DAY = 86_400_000
const MINUTE = 60_000

export interface QueryIndexBenchOptions {
  readonly quick: boolean
  /** Told what is under way (to stderr, say). */
  readonly log?: (line: string) => void
}

export async function benchQueryIndex (opts: QueryIndexBenchOptions): Promise<Figure[]> {
  const log = opts.log ?? (() => {})
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-index-bench-'))
  try {
    const build = await buildRate(join(dir, 'build'), opts.quick, log)
    const trace = await traceTime(join(dir, 'trace.sqlite'), opts.quick ? 200_000 : 10_000_000, log)
    return [...build, ...trace]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function buildRate (dir: string, quick: boolean, log: (line: string) => void): Promise<Figure[]> {
  const size = quick ? { users: 30, days: 14 } : { users: 200, days: 60 }
  log(`index build: generating ${size.users} users × ${size.days} days through real chains …`)
  const data = await generateDataset({ dir: join(dir, 'store'), ...size, seed: 'bench', keepEntries: false })
  const index = QueryIndex.open(join(dir, 'index.sqlite'))
  try {
    const users = data.ledger.users()
    let rows = 0
    const readAll = async (): Promise<void> => {
      let n = 0
      for (const user of users) n += (await (await data.ledger.chain(user)).read({ start: 0 })).length
      if (n !== data.totals.entries) throw new Error(`read ${n} entries, expected ${data.totals.entries}`)
    }
    const rebuild = async (): Promise<void> => {
      const result = await index.rebuild(data.ledger)
      if (result.entriesDone !== data.totals.entries || result.failed.length > 0) throw new Error('the rebuild did not index every entry')
      rows = result.rows
    }
    log(`index build: ${data.totals.entries} entries (${data.totals.locationPoints} location points), read and rebuilt in turns …`)
    const [read, built] = await interleavedRates(data.totals.entries, [readAll, rebuild], { repeats: quick ? 3 : 5, warmups: 1 })
    const entries = data.totals.entries
    return [
      { section: SECTION, name: `raw chain read (chain.read), ${entries} entries`, value: read!, unit: 'entries/s' },
      { section: SECTION, name: `index build (rebuild through real chains), ${entries} entries`, value: built!, unit: 'entries/s', ratio: { against: 'raw chain read', value: built! / read!, target: 0.8 } },
      { section: SECTION, name: 'index build, rows written', value: built! * rows / entries, unit: 'rows/s' }
    ]
  } finally {
    await index.close()
    await data.ledger.close()
  }
}

/** Metres east/north of a city centre, to degrees. */
const CITY = { lat: 47.3769, lon: 8.5417 }
const M_LAT = 111_195
const M_LON = M_LAT * Math.cos(CITY.lat * Math.PI / 180)

export interface SyntheticLocations {
  /** The traced user: uid 1, whose workplace 30 colleagues share. */
  readonly target: UserId
  readonly start: number
  readonly days: number
  readonly people: number
  readonly rows: number
  readonly seconds: number
}

/**
 * Bulk-inserts synthetic location rows straight into an index's tables (the
 * same rows indexing writes, without chains): `points` rows, a point every
 * 15 minutes from 07:00 to 23:00 for 28 days, as many people as that takes.
 */
export function loadSyntheticLocations (index: QueryIndex, points: number, log: (line: string) => void = () => {}): SyntheticLocations {
  const days = 28
  const perDay = 64
  const people = Math.ceil(points / (days * perDay))
  const start = Date.UTC(2025, 0, 6)
  const rng = new Rng('index-bench', 'trace')
  const db = index.database
  log(`trace: bulk-inserting ${points.toLocaleString('en-US')} synthetic location rows for ${people} people straight into SQLite …`)

  // People: a home anywhere in a 12 km city, a workplace within 5 km of the centre; the first 31 share one workplace.
  const place = (radius: number): { x: number, y: number } => {
    const r = radius * Math.sqrt(rng.next())
    const a = rng.between(0, 2 * Math.PI)
    return { x: r * Math.cos(a), y: r * Math.sin(a) }
  }
  const sharedWork = place(5000)
  const persons = Array.from({ length: people }, (_, i) => ({
    uid: i + 1,
    home: place(12_000),
    work: i <= 30 ? { x: sharedWork.x + rng.normal(0, 15), y: sharedWork.y + rng.normal(0, 15) } : place(5000),
    phase: rng.int(15)
  }))
  const addChain = db.prepare('INSERT INTO chains (uid, user_id, chain_key, indexed_length) VALUES (?, ?, ?, ?)')
  const addLocation = db.prepare('INSERT INTO locations (id, uid, seq, time, cell, lat, lon, acc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    for (const p of persons) addChain.run(p.uid, base32.encode(randomBytes(20)).toLowerCase(), randomBytes(32), days + 1)
  })()
  const loadStart = process.hrtime.bigint()
  let id = 0
  // Day by day, everyone's day in one transaction: the order points arrive in as chains grow.
  for (let d = 0; d < days && id < points; d++) {
    const dayStart = start + d * DAY
    const weekend = d % 7 >= 5
    db.transaction(() => {
      for (const p of persons) {
        for (let k = 0; k < perDay && id < points; k++) {
          const time = dayStart + 7 * 60 * MINUTE + (p.phase + 15 * k) * MINUTE + rng.int(60_000)
          const h = (time - dayStart) / (60 * MINUTE)
          const at = !weekend && h >= 9 && h < 17 ? p.work : p.home
          const lat = CITY.lat + (at.y + rng.normal(0, 8)) / M_LAT
          const lon = CITY.lon + (at.x + rng.normal(0, 8)) / M_LON
          addLocation.run(++id, p.uid, d + 1, time, cellOf(lat, lon), lat, lon, 5 + rng.int(20))
        }
      }
    })()
    log(`trace: day ${d + 1}/${days}, ${id.toLocaleString('en-US')} rows`)
  }
  const seconds = Number(process.hrtime.bigint() - loadStart) / 1e9
  const target = db.prepare('SELECT user_id FROM chains WHERE uid = 1').pluck().get() as UserId
  return { target, start, days, people, rows: id, seconds }
}

async function traceTime (path: string, points: number, log: (line: string) => void): Promise<Figure[]> {
  const index = QueryIndex.open(path)
  const db = index.database
  const { target, start, people, rows: id, seconds: loadSeconds } = loadSyntheticLocations(index, points, log)
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.exec('ANALYZE')
  const fileBytes = (await stat(path)).size

  const query = { since: start + 7 * DAY, until: start + 21 * DAY, radiusMetres: 25, windowMinutes: 15 }
  const mine = db.prepare('SELECT count(*) FROM locations WHERE uid = 1 AND time >= ? AND time < ?').pluck().get(query.since, query.until) as number

  // The first query after opening the file again (its pages are likely in the OS cache, SQLite's is empty).
  await index.close()
  const reopened = QueryIndex.open(path)
  try {
    let t = process.hrtime.bigint()
    const first = reopened.trace(target, query)
    const firstMs = Number(process.hrtime.bigint() - t) / 1e6
    const runs: number[] = []
    for (let i = 0; i < 32; i++) {
      t = process.hrtime.bigint()
      const result = reopened.trace(target, query)
      runs.push(Number(process.hrtime.bigint() - t) / 1e6)
      if (result.length !== first.length) throw new Error('trace answers differ between runs')
    }
    runs.sort((a, b) => a - b)
    const p99 = runs[Math.min(runs.length - 1, Math.ceil(0.99 * runs.length) - 1)]!
    const matches = first.reduce((s, c) => s + c.matches.length, 0)
    const label = `${(points / 1e6).toLocaleString('en-US')}M points bulk-inserted into SQLite (not through chains), 14 days, R 25 m, T 15 min`
    log(`trace: median ${median(runs).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ${first.length} contacts`)
    return [
      { section: SECTION, name: `bulk load of location rows (for the trace figures; not through chains), ${people} people`, value: id / loadSeconds, unit: 'rows/s' },
      { section: SECTION, name: 'index file with the location rows', value: fileBytes / 2 ** 20, unit: 'MiB' },
      { section: SECTION, name: `trace median (target < 200 ms), ${label}`, value: median(runs), unit: 'ms' },
      { section: SECTION, name: `trace p99 of ${runs.length} runs (target < 200 ms), ${label}`, value: p99, unit: 'ms' },
      { section: SECTION, name: 'trace, first query after reopening the index', value: firstMs, unit: 'ms' },
      { section: SECTION, name: 'trace: the traced user\'s points in the 14 days', value: mine, unit: 'points' },
      { section: SECTION, name: 'trace: contacts found (30 colleagues share the workplace; any others met by chance)', value: first.length, unit: 'users' },
      { section: SECTION, name: 'trace: matching point pairs', value: matches, unit: 'pairs' }
    ]
  } finally {
    await reopened.close()
  }
}
