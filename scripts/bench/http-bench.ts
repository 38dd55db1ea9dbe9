/**
 * HTTP write benchmark: sealed exam entries written through the
 * daemon's API, beside the same writes made directly on the library, in the
 * same run and on the same daemon.
 *
 *   one examiner daemon (a one-node consortium, data in a temporary
 *   directory, API on 127.0.0.1, any free port), `users` users enrolled
 *
 *   HTTP     autocannon, `connections` keep-alive connections, each request
 *            POST /v1/users/{id}/entries with the examiner's body (the
 *            bench exam of fixtures.ts: about 1.2 KB sealed), the user
 *            changing with every request (round robin); a warm-up run
 *            first, then the timed run. Counted: 201 answers per second,
 *            latency p50/p99, errors and non-2xx answers.
 *   library  `connections` async callers, each in a loop for the same
 *            duration: the same exam written with Daemon.writeExam — what
 *            the route does (sealed on the same workers, signed, appended,
 *            announced), without HTTP, the token check, zod, JSON and the
 *            audit line.
 *   storage  plain Hypercore appends of blocks the exam's size, round robin
 *            over as many cores as users, from `connections` callers: the
 *            floor under both (no entry, sealing, signature of ours, index).
 *
 * Each timed run also reports the CPU time of the whole process per write
 * (all threads): with the machine's cores it bounds what any design of the
 * same work can reach.
 *
 * Target on the reference machine: >= 3,000 writes/s over HTTP, p99 < 50 ms.
 * Nothing is printed here: the caller prints the returned figures.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import {
  buildGenesis, bytesToHex, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type UserId
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Daemon, parseConfig } from '@healthchain/node'
import { prepareConsortium } from '@healthchain/node/testing'
import { benchExamPlain, benchExamSealed } from './fixtures.js'

export const HTTP_TARGET = { writesPerSecond: 3000, p99Ms: 50 } as const

const INSTITUTION = 'hospital-a' as InstitutionId
const EXAM_BODY = JSON.stringify({ type: 'exam', plain: benchExamPlain, sealed: benchExamSealed })

export interface LatencyFigures {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
}

/**
 * CPU time of this whole process (every thread: the event loop, the sealing
 * and storage threads, and autocannon's worker) during a timed run. The
 * machine's cores bound writes/s at cores ÷ (µs per write).
 */
export interface CpuFigures {
  readonly microsPerWrite: number
  /** CPU seconds per second: how many cores the run kept busy. */
  readonly cores: number
  /**
   * The event loop's own share: its thread's CPU time per write (Linux
   * only, else null) and the fraction of the run it was busy. A loop busy
   * ~100% of the time is the bottleneck however idle the other core is;
   * busy time above its CPU time is time it was runnable but descheduled,
   * i.e. the cores were contended.
   */
  readonly eventLoop: { readonly microsPerWrite: number | null, readonly utilization: number }
}

export interface HttpBenchResult {
  readonly mode: 'quick' | 'full'
  /** The machine's 1-minute load average when the run began: other work on it lowers every figure. */
  readonly loadAverage1m: number
  readonly users: number
  readonly connections: number
  readonly warmupSeconds: number
  readonly durationSeconds: number
  /** One exam as stored (encoded, sealed for the user and the examiner). */
  readonly entryBytes: number
  /** The JSON body of one request. */
  readonly requestBytes: number
  readonly http: {
    readonly writesPerSecond: number
    readonly writes: number
    readonly cpu: CpuFigures
    readonly latencyMs: LatencyFigures
    /** Connection errors and timeouts. */
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
  }
  readonly library: {
    readonly writesPerSecond: number
    readonly writes: number
    readonly cpu: CpuFigures
    readonly latencyMs: LatencyFigures
    readonly errors: number
  }
  /** Plain Hypercore appends of an exam's size to `users` cores from `connections` callers: what storage alone allows. */
  readonly storage: {
    readonly appendsPerSecond: number
    readonly cpu: CpuFigures
  }
  /** HTTP writes/s over library writes/s. */
  readonly ratio: number
  readonly target: { readonly writesPerSecond: number, readonly p99Ms: number, readonly met: boolean }
}

export interface HttpBenchOptions {
  readonly quick: boolean
  /** Default 50. */
  readonly users?: number
  /** Default 50. */
  readonly connections?: number
}

interface Bench {
  readonly daemon: Daemon
  readonly token: string
  readonly users: readonly UserId[]
  readonly dir: string
  /** The module autocannon's worker loads to pick each request's user. */
  readonly setupRequest: string
}

export async function benchHttpWrites (opts: HttpBenchOptions): Promise<HttpBenchResult> {
  const users = opts.users ?? 50
  const connections = opts.connections ?? 50
  const warmupSeconds = opts.quick ? 0.5 : 2
  const durationSeconds = opts.quick ? 2 : 10
  const loadAverage1m = round(loadavg()[0] ?? 0, 2)
  const bench = await startBench(users)
  try {
    await httpWrites(bench, { connections, seconds: warmupSeconds })
    const http = await httpWrites(bench, { connections, seconds: durationSeconds })
    await libraryWrites(bench, { callers: connections, seconds: warmupSeconds })
    const library = await libraryWrites(bench, { callers: connections, seconds: durationSeconds })
    const storage = await rawAppends({ dir: join(bench.dir, 'raw'), cores: users, callers: connections, seconds: durationSeconds, blockBytes: await storedExamBytes(bench) })
    return {
      mode: opts.quick ? 'quick' : 'full',
      loadAverage1m,
      users,
      connections,
      warmupSeconds,
      durationSeconds,
      entryBytes: await storedExamBytes(bench),
      requestBytes: Buffer.byteLength(EXAM_BODY),
      http,
      library,
      storage,
      ratio: round(http.writesPerSecond / library.writesPerSecond, 3),
      target: {
        ...HTTP_TARGET,
        met: http.writesPerSecond >= HTTP_TARGET.writesPerSecond && http.latencyMs.p99 < HTTP_TARGET.p99Ms && http.non2xx === 0 && http.errors === 0
      }
    }
  } finally {
    await bench.daemon.stop()
    await rm(bench.dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- set-up

/** A one-node consortium (the examiner hosts the registry), its daemon, a staff token, and `count` users enrolled over HTTP. */
async function startBench (count: number): Promise<Bench> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-http-bench-'))
  try {
    const dataDir = join(dir, INSTITUTION)
    const { registryKey } = await prepareConsortium({
      parties: [{ id: INSTITUTION, role: 'examiner' }], dataDirOf: () => dataDir, governanceKeyPath: join(dir, 'governance.json'), name: 'HTTP bench'
    })
    const config = parseConfig({
      // One client at full speed is what is measured: the per-source limit (500 requests a second by default) lifted.
      name: INSTITUTION,
      role: 'examiner',
      dataDir,
      api: { host: '127.0.0.1', port: 0, rateLimit: { requests: 100_000_000 } },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      registryKey: bytesToHex(registryKey)
    }, { baseDir: dir })
    const daemon = await Daemon.start(config)
    try {
      const { apiKey } = await daemon.apiKeys.create('bench staff', 'examiner')
      const token = (await request(daemon, 'POST', '/v1/session', { body: { apiKey } }) as { token: string }).token
      const users: UserId[] = []
      for (let i = 0; i < count; i++) users.push(await enrol(daemon, token))
      return { daemon, token, users, dir, setupRequest: await writeSetupRequest(dir, users) }
    } catch (err) {
      await daemon.stop()
      throw err
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

async function enrol (daemon: Daemon, token: string): Promise<UserId> {
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const { chainKey } = await request(daemon, 'GET', `/v1/users/${user.userId}/chain-key`, { token }) as { chainKey: string }
  const genesis = signEntry(buildGenesis(user, INSTITUTION, {}, crypto), { chainKey: Buffer.from(chainKey, 'hex'), seq: 0 }, user.sign.secretKey, crypto)
  await request(daemon, 'POST', '/v1/users', { token, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  return user.userId
}

async function request (daemon: Daemon, method: string, path: string, opts: { token?: string, body?: unknown }): Promise<unknown> {
  const headers: Record<string, string> = {}
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(daemon.apiUrl + path, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) })
  const body: unknown = await response.json()
  if (!response.ok) throw new Error(`bench set-up: ${method} ${path} answered ${response.status} ${JSON.stringify(body)}`)
  return body
}

// ---------------------------------------------------------------- HTTP

async function httpWrites (bench: Bench, opts: { connections: number, seconds: number }): Promise<HttpBenchResult['http']> {
  const cpu = startCpuMeter()
  const result = await autocannon({
    // In a worker thread: the load generator must not share the event loop of the server it measures.
    workers: 1,
    url: bench.daemon.apiUrl,
    connections: opts.connections,
    duration: opts.seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${bench.token}`, 'content-type': 'application/json' },
    body: EXAM_BODY,
    requests: [{ setupRequest: bench.setupRequest }]
  })
  const writes = result.statusCodeStats?.['201']?.count ?? 0
  return {
    writesPerSecond: round(writes / result.duration, 0),
    writes,
    cpu: cpu.figures(writes, result.duration),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx
  }
}

/**
 * autocannon's per-request hook, as a module its worker can load (a worker
 * cannot be handed a function): the user changes with every request, round
 * robin across all connections, so no chain sees one writer only.
 */
async function writeSetupRequest (dir: string, users: readonly UserId[]): Promise<string> {
  const file = join(dir, 'setup-request.cjs')
  const paths = JSON.stringify(users.map((user) => `/v1/users/${user}/entries`))
  await writeFile(file, `'use strict'\nconst paths = ${paths}\nlet next = 0\nmodule.exports = (request) => ({ ...request, path: paths[next++ % paths.length] })\n`)
  return file
}

// ---------------------------------------------------------------- library

/**
 * The route's write without HTTP, the session and the audit line
 * (Daemon.writeExam: seal on the sealing workers, sign in the chain's
 * append batch, announce the new head).
 */
async function writeExamDirect (daemon: Daemon, user: UserId): Promise<void> {
  await daemon.writeExam(user, { plain: benchExamPlain, sealed: benchExamSealed })
}

async function libraryWrites (bench: Bench, opts: { callers: number, seconds: number }): Promise<HttpBenchResult['library']> {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const cpu = startCpuMeter()
  const start = performance.now()
  const deadline = start + opts.seconds * 1000
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const user = bench.users[next++ % bench.users.length]!
      const t0 = performance.now()
      try {
        await writeExamDirect(bench.daemon, user)
        latencies.push(performance.now() - t0)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: opts.callers }, caller))
  const seconds = (performance.now() - start) / 1000
  return {
    writesPerSecond: round(latencies.length / seconds, 0),
    writes: latencies.length,
    cpu: cpu.figures(latencies.length, seconds),
    latencyMs: latencyFigures(latencies),
    errors
  }
}

// ---------------------------------------------------------------- storage alone

/**
 * The floor under both: plain Hypercore appends (no entry, no signature of
 * ours, no sealing) of blocks the size of the bench exam, round robin over
 * `cores` cores of one Corestore, from `callers` async callers.
 */
async function rawAppends (opts: { dir: string, cores: number, callers: number, seconds: number, blockBytes: number }): Promise<HttpBenchResult['storage']> {
  const store = new Corestore(opts.dir)
  try {
    const cores: Hypercore[] = []
    for (let i = 0; i < opts.cores; i++) {
      const core = store.get({ name: `raw-${i}` })
      await core.ready()
      cores.push(core)
    }
    const block = new Uint8Array(opts.blockBytes).fill(7)
    const run = async (seconds: number): Promise<HttpBenchResult['storage']> => {
      let appends = 0
      let next = 0
      const cpu = startCpuMeter()
      const start = performance.now()
      const deadline = start + seconds * 1000
      await Promise.all(Array.from({ length: opts.callers }, async () => {
        while (performance.now() < deadline) {
          await cores[next++ % cores.length]!.append(block)
          appends++
        }
      }))
      const elapsed = (performance.now() - start) / 1000
      return { appendsPerSecond: round(appends / elapsed, 0), cpu: cpu.figures(appends, elapsed) }
    }
    await run(Math.min(1, opts.seconds))
    return await run(opts.seconds)
  } finally {
    await store.close()
  }
}

// ---------------------------------------------------------------- figures

async function storedExamBytes (bench: Bench): Promise<number> {
  const chain = await bench.daemon.ledger.chain(bench.users[0]!)
  const [exam] = await chain.read({ types: ['exam'], start: 1, end: 2 })
  return exam === undefined ? 0 : encodeEntry(exam.entry).length
}

/** Starts measuring a timed run's CPU: the whole process's, and the event loop's thread and utilization. */
function startCpuMeter (): { figures (writes: number, seconds: number): CpuFigures } {
  const process0 = process.cpuUsage()
  const loop0 = eventLoopThreadCpuMicros()
  const elu0 = performance.eventLoopUtilization()
  return {
    figures (writes, seconds) {
      const used = process.cpuUsage(process0)
      const micros = used.user + used.system
      const loop1 = eventLoopThreadCpuMicros()
      const perWrite = (us: number): number => writes === 0 ? 0 : round(us / writes, 0)
      return {
        microsPerWrite: perWrite(micros),
        cores: round(micros / 1e6 / seconds, 2),
        eventLoop: {
          microsPerWrite: loop0 === null || loop1 === null ? null : perWrite(loop1 - loop0),
          utilization: round(performance.eventLoopUtilization(elu0).utilization, 3)
        }
      }
    }
  }
}

/**
 * CPU time of the calling thread (the event loop) in µs, from Linux's
 * /proc/thread-self/stat (utime and stime, fields 14 and 15, in clock ticks
 * of 1/100 s: USER_HZ is 100 on every Linux this runs on, and a 10 s run
 * makes the tick's 10 ms negligible); null elsewhere. Read synchronously:
 * an asynchronous read would run on a libuv pool thread and read that
 * thread's figures instead.
 */
function eventLoopThreadCpuMicros (): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * 10_000 : null
  } catch {
    return null
  }
}

function latencyFigures (values: number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number): number => sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!, 2)
  return { p50: at(50), p90: at(90), p99: at(99), max: round(sorted[sorted.length - 1] ?? 0, 2) }
}

function round (value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
