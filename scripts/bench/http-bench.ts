/**
 * HTTP write benchmark: sealed exam entries written through the daemon's
 * API, beside the same writes made directly on the library and the crypto
 * bound, in the same run and on the same daemon.
 *
 *   one examiner daemon (a one-node consortium, data in a temporary
 *   directory, API on 127.0.0.1, any free port), `users` users enrolled
 *
 *   bound    seal (three recipients) + sign on this thread alone
 *            (crypto-bound.ts, as the ledger bench measures it), before
 *            and after the HTTP run (the median of both): what every write
 *            must cost, the figure the HTTP rate is a ratio of.
 *   HTTP     autocannon, `connections` keep-alive connections, each request
 *            POST /v1/users/{id}/entries with the examiner's body (the
 *            bench exam of fixtures.ts: about 1.2 KB sealed), the user
 *            changing with every request (round robin); a warm-up run
 *            first, then the timed run. Counted: 201 answers per second,
 *            latency p50/p99, errors and non-2xx answers.
 *   batch    POST /v1/entries/batch, `batchItems` exams per request over all
 *            users, `batchConnections` connections: entries/s, p99 per batch.
 *   bundle   POST /v1/fhir?values=sealed, a FHIR transaction Bundle of
 *            `batchItems` Observations (a blood-pressure panel, a note)
 *            over all users, the same way.
 *   library  `connections` async callers, each in a loop for the same
 *            duration: the same exam written with Daemon.writeExam — what
 *            the route does (sealed on the same workers, signed, appended,
 *            announced), without HTTP, the token check, zod, JSON and the
 *            audit line.
 *   storage  plain Hypercore appends of blocks the exam's size, round robin
 *            over as many cores as users, from `connections` callers: the
 *            floor under both (no entry, sealing, signature of ours, index).
 *
 * The load generator (autocannon) runs in a child process (http-load.ts),
 * not in a worker thread of this one: the CPU time each timed run reports
 * (all threads of this process, per write) is then the server's alone, and
 * with the machine's cores it bounds what any design of the same work can
 * reach; the generator's own share shows in the load average.
 *
 * HEALTHCHAIN_BENCH_PROFILE=<directory> writes a CPU profile of the event
 * loop during the timed HTTP run (profile.ts).
 *
 * Targets: HTTP writes >= 0.6x the crypto bound, p99 < 50 ms.
 * Nothing is printed here: the caller prints the returned figures.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import {
  buildGenesis, bytesToHex, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type UserId
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Daemon, parseConfig } from '@healthchain/node'
import { prepareConsortium } from '@healthchain/node/testing'
import { storeOf } from '@healthchain/ledger/testing'
import { latencyFigures, round, startCpuMeter, type CpuFigures, type LatencyFigures } from './cpu-meter.js'
import { cryptoBoundRun } from './crypto-bound.js'
import { benchExamPlain, benchExamSealed } from './fixtures.js'
import { measureBatches, type BatchFigures } from './http-bench-batch.js'
import { runLoad } from './http-load.js'
import { median } from './measure.js'
import { profiled } from './profile.js'

export const HTTP_TARGET = { ratioToCryptoBound: 0.6, p99Ms: 50 } as const

const INSTITUTION = 'hospital-a' as InstitutionId
const EXAM_BODY = JSON.stringify({ type: 'exam', plain: benchExamPlain, sealed: benchExamSealed })

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
    /** RocksDB read batches the node's store ran per write (each one a read the event loop waits on or runs). */
    readonly storageReadsPerWrite: number
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
    readonly storageReadsPerWrite: number
    readonly latencyMs: LatencyFigures
    readonly errors: number
  }
  /** Plain Hypercore appends of an exam's size to `users` cores from `connections` callers: what storage alone allows. */
  readonly storage: {
    readonly appendsPerSecond: number
    readonly cpu: CpuFigures
  }
  /** Seal (three recipients) + sign on one thread, entries/s: the median of runs before and after the HTTP run. */
  readonly cryptoBound: number
  /** POST /v1/entries/batch and FHIR transaction Bundles: entries/s and latency per request. */
  readonly batch: BatchFigures
  readonly bundle: BatchFigures
  /** HTTP writes/s over library writes/s. */
  readonly ratio: number
  /** HTTP writes/s over the crypto bound. */
  readonly ratioToCryptoBound: number
  readonly target: { readonly ratioToCryptoBound: number, readonly p99Ms: number, readonly met: boolean }
}

export interface HttpBenchOptions {
  readonly quick: boolean
  /** Default 50. */
  readonly users?: number
  /** Default 50. */
  readonly connections?: number
  /** Items in one batch request or Bundle; default 100. */
  readonly batchItems?: number
  /** Connections sending batches; default 4. */
  readonly batchConnections?: number
}

interface Bench {
  readonly daemon: Daemon
  readonly token: string
  readonly users: readonly UserId[]
  readonly dir: string
}

export async function benchHttpWrites (opts: HttpBenchOptions): Promise<HttpBenchResult> {
  const users = opts.users ?? 50
  const connections = opts.connections ?? 50
  const warmupSeconds = opts.quick ? 1 : 2
  const durationSeconds = opts.quick ? 2 : 10
  const loadAverage1m = round(loadavg()[0] ?? 0, 2)
  const bench = await startBench(users)
  try {
    await httpWrites(bench, { connections, seconds: warmupSeconds })
    const bound = await boundRates(bench, opts.quick ? 300 : 2000)
    const http = await profiled('http-writes', async () => await httpWrites(bench, { connections, seconds: durationSeconds }))
    const cryptoBound = median([...bound, ...await boundRates(bench, opts.quick ? 300 : 2000)])
    const batchOpts = {
      users: bench.users, token: bench.token, url: bench.daemon.apiUrl, items: opts.batchItems ?? 100, connections: opts.batchConnections ?? 4
    }
    const batch = await measureBatches({ ...batchOpts, kind: 'items', warmupSeconds, seconds: durationSeconds })
    const bundle = await measureBatches({ ...batchOpts, kind: 'bundle', warmupSeconds, seconds: durationSeconds })
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
      cryptoBound: round(cryptoBound, 0),
      batch,
      bundle,
      ratio: round(http.writesPerSecond / library.writesPerSecond, 3),
      ratioToCryptoBound: round(http.writesPerSecond / cryptoBound, 3),
      target: {
        ...HTTP_TARGET,
        met: http.writesPerSecond / cryptoBound >= HTTP_TARGET.ratioToCryptoBound && http.latencyMs.p99 < HTTP_TARGET.p99Ms &&
          http.non2xx === 0 && http.errors === 0
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
      return { daemon, token, users, dir }
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
  const reads = startReadCounter(bench.daemon)
  const cpu = startCpuMeter()
  // The user changes with every request, round robin across all connections, so no chain sees one writer only.
  const result = await runLoad({
    url: bench.daemon.apiUrl,
    connections: opts.connections,
    seconds: opts.seconds,
    token: bench.token,
    contentType: 'application/json',
    requests: bench.users.map((user) => ({ path: `/v1/users/${user}/entries`, body: EXAM_BODY }))
  })
  const writes = result.statuses['201'] ?? 0
  return {
    writesPerSecond: round(writes / result.duration, 0),
    writes,
    cpu: cpu.figures(writes, result.duration),
    storageReadsPerWrite: reads.perWrite(writes),
    latencyMs: result.latencyMs,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx
  }
}

/** Three runs of the crypto bound on this thread, each of `count` entries, with the keys and sizes of the bench's exams. */
async function boundRates (bench: Bench, count: number): Promise<number[]> {
  // A written exam sizes the signed message (a warm-up on a busy machine may not have written one yet).
  await writeExamDirect(bench.daemon, bench.users[0]!)
  const chain = await bench.daemon.ledger.chain(bench.users[0]!)
  const [exam] = await chain.read({ types: ['exam'], start: 1, end: 2 })
  if (exam === undefined) throw new Error('bench: no exam to size the crypto bound by')
  const keys = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const recipients = [keys.box.publicKey, chain.user!.box, crypto.randomBytes(32)]
  const run = cryptoBoundRun({ crypto, signSecretKey: keys.sign.secretKey, recipients, sealed: benchExamSealed, sample: exam.entry }, count)
  const rates: number[] = []
  run()
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    run()
    rates.push(count / ((performance.now() - start) / 1000))
  }
  return rates
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
  const reads = startReadCounter(bench.daemon)
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
    storageReadsPerWrite: reads.perWrite(latencies.length),
    latencyMs: latencyFigures(latencies),
    errors
  }
}

/**
 * Read batches the node's RocksDB ran from now on (its own count): unlike CPU time, a figure the other work on a
 * shared machine does not move, so a read taken off the write path shows in any run.
 */
function startReadCounter (daemon: Daemon): { perWrite: (writes: number) => number } {
  const stats = storeOf(daemon.ledger).storage.db.stats
  const before = stats.readBatches
  return { perWrite: (writes) => writes === 0 ? 0 : round((stats.readBatches - before) / writes, 2) }
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
