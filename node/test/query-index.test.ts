/**
 * The query index on a generated, realistic data set (helpers/dataset.ts:
 * 60 users × 30 days of exams, exercise and location, with planted contacts
 * and near-misses) in a real Corestore, indexed in a real SQLite file and in
 * a real PostgreSQL server with PostGIS (helpers/postgres.ts). Every
 * expectation is computed here, independently, from the raw entries the
 * generator wrote — never from the index itself.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { UserId } from '@healthchain/core'
import { generateDataset, distanceMetres, type Dataset, type RawEntry } from '../src/testing/index.js'
import { PgQueryIndex, QueryIndex, SqliteIndexBackend, type QueryIndexBackend, type Series } from '../src/query-index/index.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'
import { SKIP_POSTGRES, startPostgres, type PostgresServer } from './helpers/postgres.js'

const DAY = 86_400_000

// The test's own copy of the ranges (README / reference-ranges.ts name the sources), inclusive bounds.
const RANGES: Record<string, { unit: string, low?: number, high?: number }> = {
  '8480-6': { unit: 'mm[Hg]', low: 90, high: 120 },
  '8462-4': { unit: 'mm[Hg]', low: 60, high: 80 },
  '8867-4': { unit: '/min', low: 60, high: 100 },
  '2339-0': { unit: 'mg/dL', low: 70, high: 99 },
  '2093-3': { unit: 'mg/dL', high: 200 },
  '39156-5': { unit: 'kg/m2', low: 18.5, high: 25 }
}

interface RawObservation { seq: number, ord: number, source: 'exam' | 'exercise', author: string, time: number, code: string, value: number, unit: string | null, low?: number, high?: number }
interface RawPoint { user: UserId, seq: number, time: number, lat: number, lon: number, acc: number }

function observationsOf (entries: readonly RawEntry[]): RawObservation[] {
  const out: RawObservation[] = []
  for (const e of entries) {
    if (e.type === 'location') continue
    const observations = e.plain.observations
    observations.forEach((o, ord) => {
      if (typeof o.value !== 'number') return
      const time = o.time ?? (e.type === 'exam' ? e.time : e.plain.start)
      out.push({ seq: e.seq, ord, source: e.type, author: e.author, time, code: o.code, value: o.value, unit: o.unit ?? null, low: o.low, high: o.high })
    })
  }
  return out.sort((a, b) => a.time - b.time || a.seq - b.seq || a.ord - b.ord)
}

function pointsOf (user: UserId, entries: readonly RawEntry[]): RawPoint[] {
  return entries.flatMap((e) => e.type === 'location' ? e.plain.points.map((p) => ({ user, seq: e.seq, ...p })) : [])
}

function expectedSeries (observations: RawObservation[], code: string): Pick<Series, 'count' | 'min' | 'max' | 'unit' | 'change' | 'outOfRange'> & { mean: number | null, latest: number | null, first: number | null } {
  const all = observations.filter((o) => o.code === code)
  const unit = all.length === 0 ? null : all[all.length - 1]!.unit
  const mine = all.filter((o) => o.unit === unit)
  const values = mine.map((o) => o.value)
  const out = mine.filter((o) => {
    const range = o.low !== undefined || o.high !== undefined ? { low: o.low, high: o.high } : RANGES[code]?.unit === o.unit ? RANGES[code] : undefined
    return range !== undefined && ((range.low !== undefined && o.value < range.low) || (range.high !== undefined && o.value > range.high))
  })
  return {
    unit,
    count: values.length,
    min: values.length === 0 ? null : Math.min(...values),
    max: values.length === 0 ? null : Math.max(...values),
    mean: values.length === 0 ? null : values.reduce((s, v) => s + v, 0) / values.length,
    first: values[0] ?? null,
    latest: values[values.length - 1] ?? null,
    change: values.length === 0 ? null : values[values.length - 1]! - values[0]!,
    outOfRange: out.length
  }
}

/** Type-7 percentile, written again here. */
function quantile (sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p
  return sorted[Math.floor(h)]! + (h - Math.floor(h)) * (sorted[Math.ceil(h)]! - sorted[Math.floor(h)]!)
}

function mondayOf (time: number): string {
  const day = Math.floor(time / DAY)
  const dow = (new Date(day * DAY).getUTCDay() + 6) % 7
  return new Date((day - dow) * DAY).toISOString().slice(0, 10)
}

/** The same tests against each backend; each one's answers are compared with the other's at the end. */
const BACKENDS = ['sqlite', 'postgres'] as const
type BackendName = typeof BACKENDS[number]
const snapshots = new Map<BackendName, string>()
const codes = ['8480-6', '8462-4', '8867-4', '2339-0', '2093-3', '39156-5', '29463-7', '55423-8', '55430-3', '41981-2']

let dir: string
let data: Dataset
let server: PostgresServer | undefined

beforeAll(async () => {
  dir = await makeTempDir('healthchain-query-index-')
  data = await generateDataset({ dir: join(dir, 'store'), users: 60, days: 30, seed: 'query-index-test' })
  if (!SKIP_POSTGRES) server = await startPostgres()
}, 120_000)

afterAll(async () => {
  await data?.ledger.close()
  await server?.stop()
  if (dir !== undefined) await removeDir(dir)
})

describe.each(BACKENDS)('query index on a generated data set (%s)', (backend) => {
  let index: QueryIndexBackend
  let indexPath: string
  let databases = 0

  /** A new, empty index: a fresh SQLite file, or a fresh PostgreSQL database. */
  async function openEmpty (): Promise<QueryIndexBackend> {
    if (backend === 'postgres') return await PgQueryIndex.open(await server!.createDatabase(`query_index_${++databases}`))
    await QueryIndex.destroy(indexPath)
    return new SqliteIndexBackend(QueryIndex.open(indexPath))
  }

  beforeAll(async () => {
    if (backend === 'postgres' && SKIP_POSTGRES) return
    indexPath = join(dir, 'index', 'index.sqlite')
    await mkdir(join(dir, 'index'), { recursive: true })
    index = await openEmpty()
    for (const u of data.users) await index.indexChain(await data.ledger.chain(u.userId), u.userId)
  }, 120_000)

  afterAll(async () => {
    await index?.close()
  })

  // HEALTHCHAIN_SKIP_POSTGRES=1 skips these on purpose: reported as skipped, never as passed.
  beforeEach((context) => { if (backend === 'postgres' && SKIP_POSTGRES) context.skip() })

  it('indexes every verified entry: cursors at the chain lengths, one row per plain observation and location point', async () => {
    let observations = 0
    let points = 0
    for (const u of data.users) {
      const chain = await data.ledger.chain(u.userId)
      expect(await index.indexedLength(u.userId)).toBe(chain.length)
      const entries = data.entries.get(u.userId)!
      for (const e of entries) {
        if (e.type === 'location') points += e.plain.points.length
        else observations += e.plain.observations.length
      }
    }
    expect(await index.counts()).toEqual({ chains: data.users.length, observations, locations: points })
    expect(points).toBe(data.totals.locationPoints)
  })

  it('series statistics equal those computed from the raw entries, for every user and code', async () => {
    let checked = 0
    for (const u of data.users) {
      const observations = observationsOf(data.entries.get(u.userId)!)
      for (const code of codes) {
        const got = await index.series(u.userId, code)
        const want = expectedSeries(observations, code)
        expect({
          unit: got.unit,
          count: got.count,
          min: got.min,
          max: got.max,
          change: got.change,
          outOfRange: got.outOfRange,
          first: got.first?.value ?? null,
          latest: got.latest?.value ?? null
        }).toEqual({
          unit: want.unit,
          count: want.count,
          min: want.min,
          max: want.max,
          change: want.change,
          outOfRange: want.outOfRange,
          first: want.first,
          latest: want.latest
        })
        if (want.mean === null) expect(got.mean).toBeNull()
        else expect(got.mean).toBeCloseTo(want.mean, 9)
        expect(got.points.map((p) => p.value)).toEqual(observations.filter((o) => o.code === code && o.unit === want.unit).map((o) => o.value))
        checked += want.count
      }
    }
    expect(checked).toBeGreaterThan(5000)
  })

  it('a series spans every institution that wrote the code, and windows, sources and a caller\'s range apply', async () => {
    const all = data.users.map((u) => ({ u, obs: observationsOf(data.entries.get(u.userId)!) }))
    // Some user has blood pressure from both examiners or heart rate from an exam and their own device.
    const mixed = all.find(({ obs }) => new Set(obs.filter((o) => o.code === '8867-4').map((o) => o.author)).size >= 2)!
    expect(mixed).toBeDefined()
    const hr = await index.series(mixed.u.userId, '8867-4')
    expect(hr.authors).toEqual([...new Set(mixed.obs.filter((o) => o.code === '8867-4').map((o) => o.author))].sort())
    const examOnly = await index.series(mixed.u.userId, '8867-4', { source: 'exam' })
    expect(examOnly.points.every((p) => p.source === 'exam')).toBe(true)
    expect(examOnly.count).toBe(mixed.obs.filter((o) => o.code === '8867-4' && o.source === 'exam').length)

    const since = data.start + 10 * DAY
    const until = data.start + 20 * DAY
    const windowed = await index.series(mixed.u.userId, '55423-8', { since, until })
    expect(windowed.count).toBe(mixed.obs.filter((o) => o.code === '55423-8' && o.time >= since && o.time < until).length)
    expect(windowed.points.every((p) => p.time >= since && p.time < until)).toBe(true)

    const strict = await index.series(mixed.u.userId, '8867-4', { reference: { low: 200, high: 300 } })
    expect(strict.outOfRange).toBe(strict.count)
    expect(strict.points.every((p) => p.range?.low === 200)).toBe(true)
  })

  it('daily and weekly exercise summaries equal sums computed from the raw entries', async () => {
    for (const u of data.users.slice(0, 20)) {
      const exercise = observationsOf(data.entries.get(u.userId)!).filter((o) => o.source === 'exercise')
      const days = new Map<number, { steps: number, distance: number, energy: number, hr: number[], seqs: Set<number> }>()
      for (const o of exercise) {
        const key = Math.floor(o.time / DAY)
        const d = days.get(key) ?? { steps: 0, distance: 0, energy: 0, hr: [], seqs: new Set() }
        days.set(key, d)
        d.seqs.add(o.seq)
        if (o.code === '55423-8') d.steps += o.value
        if (o.code === '55430-3') d.distance += o.value
        if (o.code === '41981-2') d.energy += o.value
        if (o.code === '8867-4') d.hr.push(o.value)
      }
      const daily = await index.exerciseSummary(u.userId, 'day')
      expect(daily.map((d) => d.start)).toEqual([...days.keys()].sort((a, b) => a - b).map((k) => k * DAY))
      for (const d of daily) {
        const want = days.get(d.start / DAY)!
        expect(d.label).toBe(new Date(d.start).toISOString().slice(0, 10))
        expect(d.steps).toBe(want.steps)
        expect(d.distanceMetres).toBeCloseTo(want.distance, 6)
        expect(d.activeEnergyKcal).toBeCloseTo(want.energy, 6)
        expect(d.sessions).toBe(want.seqs.size)
        if (want.hr.length === 0) expect(d.heartRateMean).toBeNull()
        else expect(d.heartRateMean).toBeCloseTo(want.hr.reduce((s, v) => s + v, 0) / want.hr.length, 9)
      }
      const weekly = await index.exerciseSummary(u.userId, 'week')
      const weekSteps = new Map<string, number>()
      for (const o of exercise) if (o.code === '55423-8') weekSteps.set(mondayOf(o.time), (weekSteps.get(mondayOf(o.time)) ?? 0) + o.value)
      expect(Object.fromEntries(weekly.map((w) => [w.label, w.steps]))).toEqual(Object.fromEntries(weekSteps))
      for (const w of weekly) expect(new Date(w.start).getUTCDay()).toBe(1)
    }
  })

  describe('contact tracing', () => {
    let everyone: RawPoint[]
    let times: number[]

    beforeAll(() => {
      everyone = data.users.flatMap((u) => pointsOf(u.userId, data.entries.get(u.userId)!)).sort((a, b) => a.time - b.time)
      times = everyone.map((p) => p.time)
    })

    /** Brute force over the raw points, sorted by time: every pair within R and T. */
    function bruteForce (user: UserId, since: number, until: number, R: number, T: number): Map<UserId, Set<string>> {
      const out = new Map<UserId, Set<string>>()
      const lowerBound = (t: number): number => {
        let lo = 0
        let hi = times.length
        while (lo < hi) { const mid = (lo + hi) >> 1; if (times[mid]! < t) lo = mid + 1; else hi = mid }
        return lo
      }
      for (const me of pointsOf(user, data.entries.get(user)!)) {
        if (me.time < since || me.time >= until) continue
        for (let i = lowerBound(me.time - T * 60_000); i < everyone.length && everyone[i]!.time <= me.time + T * 60_000; i++) {
          const other = everyone[i]!
          if (other.user === user || distanceMetres(me, other) > R) continue
          const set = out.get(other.user) ?? new Set()
          out.set(other.user, set)
          set.add(`${me.time}|${other.time}|${other.lat}|${other.lon}`)
        }
      }
      return out
    }

    it('finds exactly the planted contacts, matching a brute-force search of the raw points, and none of the near-misses', async () => {
      const R = data.radiusMetres
      const T = data.windowMinutes
      const since = data.start
      const until = data.start + data.days * DAY
      expect(data.contacts.length).toBeGreaterThanOrEqual(6)
      expect(data.nearMisses.length).toBeGreaterThanOrEqual(6)
      const involved = new Set([...data.contacts, ...data.nearMisses].flatMap((c) => [c.a, c.b]))
      for (const user of [...involved, data.users[0]!.userId]) {
        const got = await index.trace(user, { since, until, radiusMetres: R, windowMinutes: T })
        const gotKeys = new Map(got.map((c) => [c.userId, new Set(c.matches.map((m) => `${m.mine.time}|${m.theirs.time}|${m.theirs.lat}|${m.theirs.lon}`))]))
        const brute = bruteForce(user, since, until, R, T)
        expect(gotKeys).toEqual(brute)

        // The planted contacts are all the contacts there are.
        const planted = new Map<UserId, Set<string>>()
        for (const c of data.contacts) {
          if (c.a === user) planted.set(c.b, new Set([`${c.aPoint.time}|${c.bPoint.time}|${c.bPoint.lat}|${c.bPoint.lon}`]))
          if (c.b === user) planted.set(c.a, new Set([`${c.bPoint.time}|${c.aPoint.time}|${c.aPoint.lat}|${c.aPoint.lon}`]))
        }
        expect(gotKeys).toEqual(planted)
        for (const miss of data.nearMisses) {
          if (miss.a === user) expect(gotKeys.has(miss.b)).toBe(false)
          if (miss.b === user) expect(gotKeys.has(miss.a)).toBe(false)
        }
        for (const c of got) {
          for (const m of c.matches) {
            expect(m.distanceMetres).toBeLessThanOrEqual(R)
            expect(m.minutesApart).toBeLessThanOrEqual(T)
            expect(m.distanceMetres).toBeCloseTo(distanceMetres(m.mine, m.theirs), 6)
          }
        }
      }
    })

    it('reports the matching points with their positions, and near-misses become contacts once R or T covers them', async () => {
      const c = data.contacts[0]!
      const got = await index.trace(c.a, {
        since: c.aPoint.time - DAY, until: c.aPoint.time + DAY, radiusMetres: data.radiusMetres, windowMinutes: data.windowMinutes
      })
      expect(got).toHaveLength(1)
      expect(got[0]!.userId).toBe(c.b)
      expect(got[0]!.matches).toEqual([{
        mine: { ...c.aPoint, seq: c.aSeq },
        theirs: { ...c.bPoint, seq: c.bSeq },
        distanceMetres: expect.closeTo(c.distanceMetres, 6),
        minutesApart: expect.closeTo(c.minutesApart, 9)
      }])

      for (const miss of data.nearMisses) {
        const wider = { radiusMetres: data.radiusMetres * 1.6, windowMinutes: data.windowMinutes * 1.6 }
        const found = await index.trace(miss.a, { since: miss.aPoint.time - 1, until: miss.aPoint.time + 1, ...wider })
        expect(found.map((f) => f.userId)).toContain(miss.b)
        const exact = await index.trace(miss.a, {
          since: miss.aPoint.time - 1, until: miss.aPoint.time + 1, radiusMetres: data.radiusMetres, windowMinutes: data.windowMinutes
        })
        expect(exact).toEqual([])
      }
    })

    it('a window without the contact finds nothing; an unknown user has no contacts', async () => {
      const c = data.contacts[0]!
      expect((await index.trace(c.a, {
        since: c.aPoint.time + 60 * 60_000, until: c.aPoint.time + 2 * 60 * 60_000, radiusMetres: data.radiusMetres, windowMinutes: data.windowMinutes
      })).some((x) => x.userId === c.b)).toBe(false)
      expect(await index.trace('a'.repeat(32) as UserId, { since: data.start, until: data.start + DAY, radiusMetres: 10, windowMinutes: 10 })).toEqual([])
    })
  })

  describe('statistics for inquirers', () => {
    it('counts and distributions equal those computed from the raw entries, with small cells suppressed', async () => {
      const rows = data.users.flatMap((u) => observationsOf(data.entries.get(u.userId)!).map((o) => ({ ...o, user: u.userId })))
      for (const [code, period] of [['55423-8', 'day'], ['8480-6', 'week'], ['8867-4', 'month']] as const) {
        const label = (t: number): string => period === 'day' ? new Date(t).toISOString().slice(0, 10) : period === 'week' ? mondayOf(t) : new Date(t).toISOString().slice(0, 7)
        const groups = new Map<string, { values: number[], users: Set<string> }>()
        for (const o of rows) {
          if (o.code !== code) continue
          const key = `${o.unit}|${label(o.time)}`
          const g = groups.get(key) ?? { values: [], users: new Set() }
          groups.set(key, g)
          g.values.push(o.value)
          g.users.add(o.user)
        }
        const stats = await index.statistics({ code, period })
        expect(stats.buckets.length).toBe(groups.size)
        for (const b of stats.buckets) {
          const g = groups.get(`${b.unit}|${b.period}`)!
          if (g.users.size < 5) {
            expect(b).toEqual({ code, unit: b.unit, period: b.period, suppressed: true })
            continue
          }
          const sorted = [...g.values].sort((x, y) => x - y)
          expect(b.suppressed).toBe(false)
          expect(b.count).toBe(sorted.length)
          expect(b.users).toBe(g.users.size)
          expect(b.min).toBe(sorted[0])
          expect(b.max).toBe(sorted[sorted.length - 1])
          expect(b.mean).toBeCloseTo(sorted.reduce((s, v) => s + v, 0) / sorted.length, 9)
          expect(b.p10).toBeCloseTo(quantile(sorted, 0.1), 9)
          expect(b.p50).toBeCloseTo(quantile(sorted, 0.5), 9)
          expect(b.p90).toBeCloseTo(quantile(sorted, 0.9), 9)
        }
        expect(stats.suppressedBuckets).toBe([...groups.values()].filter((g) => g.users.size < 5).length)
      }
    })

    it('suppresses buckets with fewer than k users (and k cannot go below 5), and names no user', async () => {
      const month = await index.statistics({ period: 'month' })
      expect(month.minUsers).toBe(5)
      // The text finding is rare: some month has it from fewer than 5 people, or it is absent (text values are not numbers).
      const raised = await index.statistics({ period: 'month', minUsers: 1000 })
      expect(raised.buckets.every((b) => b.suppressed)).toBe(true)
      await expect(index.statistics({ period: 'month', minUsers: 2 })).rejects.toThrow(expect.objectContaining({ code: 'BAD_REQUEST', field: 'minUsers' }))
      const text = JSON.stringify([month, await index.statistics({ period: 'day' }), await index.statistics({ period: 'week', source: 'exam' })])
      for (const u of data.users) expect(text.includes(u.userId)).toBe(false)
      expect(text.includes('hospital-a')).toBe(false)
    })
  })

  describe('nothing sealed', () => {
    it('sealed notes and sealed-only observations appear in no query output and nowhere in the database files', async () => {
      const outputs: unknown[] = [await index.statistics({ period: 'day' }), await index.statistics({ period: 'month', code: data.sealedCode })]
      for (const u of data.users) {
        outputs.push(await index.trace(u.userId, { since: data.start, until: data.start + data.days * DAY, radiusMetres: 100, windowMinutes: 60 }))
        outputs.push(await index.exerciseSummary(u.userId, 'week'))
        for (const code of codes) outputs.push(await index.series(u.userId, code))
        // Asked for by name, the sealed-only code has no values (the series only echoes the code asked for).
        expect((await index.series(u.userId, data.sealedCode)).count).toBe(0)
      }
      const text = JSON.stringify(outputs)
      // toBe(false) rather than not.toContain: a failure must not print megabytes of output.
      expect(text.includes(data.sealedMarker)).toBe(false)
      expect(text.includes(data.sealedCode)).toBe(false)
      expect((await index.statistics({ period: 'month', code: data.sealedCode })).buckets).toEqual([])

      // The ciphertext of every sealed segment, not only its cleartext, stays out of the file.
      const ciphertexts: Buffer[] = []
      for (const u of data.users.slice(0, 10)) {
        const chain = await data.ledger.chain(u.userId)
        for (const { entry } of await chain.read({ types: ['exam'] })) ciphertexts.push(Buffer.from(entry.sealed!.ct.subarray(0, 24)))
      }
      expect(ciphertexts.length).toBeGreaterThan(0)
      // SQLite: the index file and its WAL. PostgreSQL: the database's files and the server's WAL, once checkpointed.
      if (backend === 'postgres') await (index as PgQueryIndex).checkpoint()
      const files = backend === 'sqlite'
        ? (await readdir(join(dir, 'index'))).filter((f) => f.startsWith('index.sqlite')).map((f) => join(dir, 'index', f))
        : [...await filesUnder(join(server!.dataDir, 'base', String(await (index as PgQueryIndex).databaseOid()))),
            ...await filesUnder(join(server!.dataDir, 'pg_wal'))]
      expect(files.length).toBeGreaterThan(backend === 'sqlite' ? 0 : 10)
      for (const file of files) {
        const bytes = await readFile(file)
        expect(bytes.includes(Buffer.from(data.sealedMarker))).toBe(false)
        expect(bytes.includes(Buffer.from(data.sealedCode))).toBe(false)
        for (const ct of ciphertexts) expect(bytes.includes(ct)).toBe(false)
      }
    }, 120_000)
  })

  describe('rebuild', () => {
    async function snapshot (ix: QueryIndexBackend): Promise<string> {
      const out: unknown[] = []
      for (const u of data.users) {
        for (const code of codes) out.push(await ix.series(u.userId, code))
        out.push(await ix.exerciseSummary(u.userId, 'day'), await ix.exerciseSummary(u.userId, 'week', { utcOffsetMinutes: 60 }))
      }
      for (const c of [...data.contacts, ...data.nearMisses]) {
        const window = { since: data.start, until: data.start + data.days * DAY }
        out.push(await ix.trace(c.a, { ...window, radiusMetres: data.radiusMetres, windowMinutes: data.windowMinutes }))
      }
      for (const period of ['day', 'week', 'month'] as const) out.push(await ix.statistics({ period }))
      return JSON.stringify(out)
    }

    it('an index deleted and rebuilt from the chains answers identically, with progress reported, leaving no chain open', async () => {
      const before = await snapshot(index)
      const counts = await index.counts()
      await index.close()
      index = await openEmpty()
      expect(await index.counts()).toEqual({ chains: 0, observations: 0, locations: 0 })
      // No chain open before: the rebuild closes each one it opens once indexed, so none is open after.
      await data.ledger.closeIdle(0)
      expect(data.ledger.openChainCount).toBe(0)
      const progress: number[] = []
      const result = await index.rebuild(data.ledger, (p) => { progress.push(p.chainsDone) })
      expect(data.ledger.openChainCount).toBe(0)
      expect(result.failed).toEqual([])
      expect(result.chainsTotal).toBe(data.users.length)
      expect(result.entriesDone).toBe(data.totals.entries)
      expect(progress[0]).toBe(0)
      expect(progress[progress.length - 1]).toBe(data.users.length)
      expect(await index.counts()).toEqual(counts)
      expect(await snapshot(index)).toBe(before)

      // And in place, over a full index.
      await index.rebuild(data.ledger)
      expect(await snapshot(index)).toBe(before)
      snapshots.set(backend, before)
    }, 120_000)
  })
})

describe('both backends', () => {
  it('answer every query of the rebuild test identically', (context) => {
    if (SKIP_POSTGRES) context.skip()
    expect(snapshots.get('sqlite')).toBeDefined()
    expect(snapshots.get('postgres') === snapshots.get('sqlite')).toBe(true)
  })
})

async function filesUnder (root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}
