/**
 * `npm run chaos`: the dev network (`healthchain dev`, four nodes in one
 * process) under sustained exam writes, SIGKILLed and restarted at random
 * moments; afterwards every acknowledged write must be where its reply
 * said, on every node, and every chain must verify everywhere.
 *
 *   start the network (--fresh) in a child process ─► staff log in at all
 *   four nodes ─► enrol --users users, half at hospital-a, half at
 *   hospital-b (keys made here from new recovery phrases) ─► wait until
 *   every node holds every chain ─► --writers concurrent writers post exams
 *   through both examiners (so about half the writes are forwarded to the
 *   other custodian), recording each acknowledged write (user, position,
 *   entry id) ─► --kills times, at a random moment in its slot of
 *   --seconds: SIGKILL the whole process, start it again from the same
 *   directory, log in again, and time how long the replicas take to reach
 *   what each custodian held when the network came back ─► stop the
 *   writers, wait (bounded) until every replica is at its custodian's
 *   length and every node reports no replication lag ─► read every chain
 *   on every node: each acknowledged entry id at its position (a miss on
 *   the custodian is a lost write, on another node a replica missing it),
 *   and GET /verify of every chain on every node.
 *
 * A write that fails (connection refused or reset while the network is
 * down, a token from before the restart, the custodian unreachable) was
 * not acknowledged and is only counted by its code. Requests to each node
 * are paced under the API's default rate limit (which the dev network
 * keeps); a 429 pauses that node for its Retry-After.
 *
 * Exit 0 only if no acknowledged write is lost or missing, no chain is
 * invalid on any node, and the network converged; else 1, naming what
 * failed. All traffic is to 127.0.0.1; the child is killed on every exit.
 *
 *   npm run chaos -- [--dir D] [--seconds 60] [--kills 3] [--users 6] [--writers 12] [--base-port 7400]
 *                    [--converge-seconds 120] [--seed N]
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { newRecoveryPhrase, userKeysFromPhrase, type InstitutionId, type UserKeys } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { DEFAULT_RATE_LIMIT_REQUESTS, DEFAULT_RATE_LIMIT_WINDOW_SECONDS } from '@healthchain/node'
import { writeReplySchema, type StatusReply } from '@healthchain/node/api'
import { ApiClient, ApiError, CliError, DEV_HOST, enrolUser, loginWithApiKey, MAX_BASE_PORT, MIN_BASE_PORT, type DevManifest } from '@healthchain/node/cli'
import { DevProcess, DevStartError } from './chaos-dev.js'
import { demoArgs } from './demo-args.js'

const USAGE = `Usage: npm run chaos -- [options]

Runs the dev network (healthchain dev) as a child process under sustained
exam writes through both examiners, SIGKILLs and restarts it --kills times,
then checks that no acknowledged write was lost, that every chain verifies
on every node, and that the replicas converge. Exit 0 only if all hold.
  --dir <path>             the network's directory; recreated (--fresh) and kept
                           (default: a temporary directory, removed at the end)
  --seconds <n>            how long to write, in seconds (default 60; extended so
                           that writes go on for 5 s after the last restart)
  --kills <n>              SIGKILL-and-restarts during the run (default 3)
  --users <n>              users enrolled, half at hospital-a, half at hospital-b (default 6)
  --writers <n>            concurrent HTTP writers (default 12)
  --base-port <port>       the network's first port (default 7400: APIs on +0..3)
  --converge-seconds <n>   how long to wait for convergence at the end (default 120)
  --seed <n>               the seed of the kill moments (printed at the start)`

const args = demoArgs(() => parseArgs({
  options: {
    dir: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    kills: { type: 'string', default: '3' },
    users: { type: 'string', default: '6' },
    writers: { type: 'string', default: '12' },
    'base-port': { type: 'string', default: '7400' },
    'converge-seconds': { type: 'string', default: '120' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false }
  }
}), USAGE)

function intOption (name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value)
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) {
    console.error(`error USAGE: --${name} takes an integer from ${min} to ${max}\n\n${USAGE}`)
    process.exit(2)
  }
  return n
}

const SECONDS = intOption('seconds', args.seconds, 5, 86_400)
const KILLS = intOption('kills', args.kills, 0, 1_000)
const USERS = intOption('users', args.users, 1, 10_000)
const WRITERS = intOption('writers', args.writers, 1, 1_000)
const BASE_PORT = intOption('base-port', args['base-port'], MIN_BASE_PORT, MAX_BASE_PORT)
const CONVERGE_SECONDS = intOption('converge-seconds', args['converge-seconds'], 1, 3_600)
const SEED = args.seed === undefined ? Date.now() % 2 ** 31 : intOption('seed', args.seed, 0, 2 ** 31 - 1)

const EXAMINERS = ['hospital-a', 'hospital-b'] as InstitutionId[]
/** Requests a second to one node: 80% of the API's default budget (the dev network does not raise it). */
const REQUESTS_PER_SECOND = 0.8 * DEFAULT_RATE_LIMIT_REQUESTS / DEFAULT_RATE_LIMIT_WINDOW_SECONDS
const WRITE_TIMEOUT_MS = 15_000
const READ_TIMEOUT_MS = 30_000
const LOGIN_TIMEOUT_MS = 30_000
const START_ATTEMPTS = 3
const CATCH_UP_POLL_MS = 250
const CONVERGE_POLL_MS = 500
/** Writes go on at least this long after the last restart. */
const WRITES_AFTER_LAST_RESTART_MS = 5_000

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** mulberry32: a small seeded generator. --seed replays the kill moments; the writers' choices depend on timing as well. */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
const random = seeded(SEED)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

let clockStart = Date.now()
const elapsed = (at = Date.now()): string => `${((at - clockStart) / 1000).toFixed(1)} s`
function progress (line: string): void { console.error(`[${elapsed().padStart(7)}] ${line}`) }

// ---- the nodes as this script reaches them: one staff login per node and process run

/** Spaces one node's requests under its rate limit; a 429 pauses them for the answer's Retry-After. */
class Pacer {
  private next = 0
  private pausedUntil = 0

  constructor (private readonly perSecond: number) {}

  async take (): Promise<void> {
    const now = Date.now()
    const at = Math.max(now, this.next, this.pausedUntil)
    this.next = at + 1000 / this.perSecond
    if (at > now) await sleep(at - now)
  }

  pause (ms: number): void { this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms) }
}

interface NodeHandle {
  readonly name: InstitutionId
  readonly url: string
  /** Logged in as the node's staff (the dev API key of its role): for writes and polls, and with a longer timeout for whole-chain reads. */
  readonly staff: ApiClient
  readonly reader: ApiClient
}

interface Deferred { promise: Promise<void>, resolve: () => void }
function deferred (): Deferred {
  let settle!: () => void
  const promise = new Promise<void>((resolve) => { settle = resolve })
  return { promise, resolve: settle }
}

class Network {
  /** Incremented at every kill: a run of the dev process is one generation. */
  generation = 0
  up = false
  rateLimited = 0
  private nodes = new Map<string, NodeHandle>()
  private readonly pacers = new Map<string, Pacer>()
  private gate = deferred()

  /** Resolves with the generation once the network answers and its staff are logged in. */
  async whenUp (): Promise<number> {
    while (!this.up) await this.gate.promise
    return this.generation
  }

  markDown (): void {
    this.up = false
    this.generation++
    this.gate = deferred()
  }

  /** Logs the staff in at every node of `manifest` (tokens die with the process), retrying until each API answers. */
  async connect (manifest: DevManifest): Promise<void> {
    const nodes = new Map<string, NodeHandle>()
    for (const node of manifest.nodes) {
      if (new URL(node.api).hostname !== DEV_HOST) throw new Error(`${node.name}'s API is at ${node.api}, not on ${DEV_HOST}: refusing to send traffic there`)
      if (!this.pacers.has(node.name)) this.pacers.set(node.name, new Pacer(REQUESTS_PER_SECOND))
      const api = new ApiClient(node.api, { timeoutMs: WRITE_TIMEOUT_MS })
      const deadline = Date.now() + LOGIN_TIMEOUT_MS
      for (;;) {
        try {
          const { client, session } = await loginWithApiKey(api, node.apiKey)
          const reader = new ApiClient(node.api, { timeoutMs: READ_TIMEOUT_MS }).withToken(session.token)
          nodes.set(node.name, { name: node.name as InstitutionId, url: node.api, staff: client, reader })
          break
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`${node.name}: staff login did not succeed within ${LOGIN_TIMEOUT_MS / 1000} s: ${describe(err)}`)
          if (err instanceof ApiError && err.code === 'RATE_LIMITED') await sleep(await retryAfterMs(node.api))
          else await sleep(200)
        }
      }
    }
    this.nodes = nodes
    this.up = true
    this.gate.resolve()
  }

  names (): string[] { return [...this.nodes.keys()] }

  /** One request to `name` as its staff, paced; a 429 pauses the node for its Retry-After and is rethrown. */
  async call<T> (name: string, fn: (client: ApiClient) => Promise<T>, opts: { wholeChain?: boolean } = {}): Promise<T> {
    const node = this.nodes.get(name)
    if (node === undefined) throw new Error(`no node ${name}`)
    const pacer = this.pacers.get(name)!
    await pacer.take()
    const client = opts.wholeChain === true ? node.reader : node.staff
    try {
      return await fn(client)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
        this.rateLimited++
        pacer.pause(await retryAfterMs(node.url))
      }
      throw err
    }
  }
}

/**
 * How long the node asks this address to wait: ApiClient does not expose
 * response headers, so GET /v1/status (the same per-address budget) is
 * asked once, raw, for its Retry-After. 1 s if it no longer refuses.
 */
async function retryAfterMs (url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(5_000) })
    await response.arrayBuffer()
    const seconds = Number(response.headers.get('retry-after'))
    return response.status === 429 && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000
  } catch {
    return 1000
  }
}

/** A failure's stable code: the API's, the CLI client's (UNREACHABLE for refused, reset or timed-out connections), or the error's name. */
function codeOf (err: unknown): string {
  if (err instanceof CliError) return err.code
  return err instanceof Error ? err.name : 'UNKNOWN'
}

function describe (err: unknown): string {
  return err instanceof CliError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)
}

// ---- users, writes and what was acknowledged

interface User {
  readonly keys: UserKeys
  readonly id: string
  readonly custodian: InstitutionId
}

interface Ack {
  readonly user: User
  readonly seq: number
  readonly id: string
  readonly via: InstitutionId
  readonly generation: number
}

interface Restart {
  readonly index: number
  readonly killedAt: number
  upAt?: number
  /** Replicas behind what the custodians held when the network came back: (node, chain) pairs and blocks. */
  behindPairs?: number
  behindBlocks?: number
  caughtUpMs?: number
  /** Why catch-up was not measured to its end. */
  unfinished?: string
  /** The largest replicationLag.blocksBehind any node reported while catching up. */
  maxReportedLag: number
}

/** A refused write other than a connection failure, kept (the first few of each code) to say when and where it happened. */
interface FailureNote {
  readonly code: string
  readonly user: User
  readonly via: InstitutionId
  readonly generation: number
  readonly startedAt: number
  readonly tookMs: number
  readonly message: string
}
const NOTES_PER_CODE = 3
/** Connection failures: expected while the network is down, so not described one by one. */
const CONNECTION_CODES: ReadonlySet<string> = new Set(['UNREACHABLE'])

const net = new Network()
const acks: Ack[] = []
const failures = new Map<string, number>()
const failureNotes: FailureNote[] = []
/** When each run of the dev process came up (index: generation). */
const upAt: number[] = []
let stopWriting = false

function examBody (n: number): unknown {
  return { type: 'exam', plain: { title: 'chaos', observations: [{ code: '8867-4', value: 50 + (n % 100), unit: '/min' }] } }
}

async function writer (users: readonly User[]): Promise<void> {
  let n = 0
  // eslint-disable-next-line no-unmodified-loop-condition -- the run's end (main) sets stopWriting while this loop awaits
  while (!stopWriting) {
    const generation = await net.whenUp()
    if (stopWriting) return
    const user = pick(users)
    const via = pick(EXAMINERS)
    const startedAt = Date.now()
    try {
      const reply = await net.call(via, async (c) => await c.request('POST', `/v1/users/${user.id}/entries`, writeReplySchema, { body: examBody(n++) }))
      acks.push({ user, seq: reply.seq, id: reply.id, via, generation })
    } catch (err) {
      const code = codeOf(err)
      failures.set(code, (failures.get(code) ?? 0) + 1)
      if (!CONNECTION_CODES.has(code) && failureNotes.filter((f) => f.code === code).length < NOTES_PER_CODE) {
        failureNotes.push({ code, user, via, generation, startedAt, tookMs: Date.now() - startedAt, message: describe(err) })
      }
      if (net.generation === generation && code !== 'RATE_LIMITED') await sleep(100 + random() * 200)
    }
  }
}

// ---- lengths and convergence

/** A node's verified length of a user's chain (0 if it does not hold it yet); the custodian's own length. */
async function lengthAt (node: string, user: User): Promise<number> {
  try {
    const chain = await net.call(node, async (c) => await c.chain(user.id))
    return node === user.custodian ? chain.length : chain.verifiedLength
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UNKNOWN_CHAIN') return 0
    throw err
  }
}

async function statuses (): Promise<Map<string, StatusReply>> {
  const out = new Map<string, StatusReply>()
  await Promise.all(net.names().map(async (name) => { out.set(name, await net.call(name, async (c) => await c.status())) }))
  return out
}

const lagOf = (s: StatusReply | undefined): string => s?.replicationLag === null || s === undefined ? 'unreported' : `${s.replicationLag.chainsBehind} chains/${s.replicationLag.blocksBehind} blocks`
const lagIsZero = (s: StatusReply): boolean => s.replicationLag !== null && s.replicationLag.chainsBehind === 0 && s.replicationLag.blocksBehind === 0

/**
 * After a restart: how long until every replica holds (verified) what each
 * custodian held when the network came back. Ends early if the network is
 * killed again first.
 */
async function measureCatchUp (restart: Restart, users: readonly User[], generation: number): Promise<void> {
  const upAt = restart.upAt!
  try {
    const targets = new Map<User, number>()
    await Promise.all(users.map(async (u) => { targets.set(u, await lengthAt(u.custodian, u)) }))
    let pending: Array<{ node: string, user: User, target: number }> = []
    for (const node of net.names()) for (const u of users) if (node !== u.custodian) pending.push({ node, user: u, target: targets.get(u)! })
    let first = true
    const deadline = upAt + CONVERGE_SECONDS * 1000
    while (pending.length > 0) {
      if (net.generation !== generation) { restart.unfinished = 'killed again first'; return }
      if (Date.now() > deadline) { restart.unfinished = `not within ${CONVERGE_SECONDS} s`; return }
      const behind = await Promise.all(pending.map(async (p) => ({ p, have: await lengthAt(p.node, p.user) })))
      if (first) {
        const lagging = behind.filter((b) => b.have < b.p.target)
        restart.behindPairs = lagging.length
        restart.behindBlocks = lagging.reduce((sum, b) => sum + b.p.target - b.have, 0)
        first = false
      }
      pending = behind.filter((b) => b.have < b.p.target).map((b) => b.p)
      for (const s of (await statuses()).values()) restart.maxReportedLag = Math.max(restart.maxReportedLag, s.replicationLag?.blocksBehind ?? 0)
      if (pending.length > 0) await sleep(CATCH_UP_POLL_MS)
    }
    restart.caughtUpMs = Date.now() - upAt
  } catch (err) {
    restart.unfinished = net.generation !== generation ? 'killed again first' : `measurement failed: ${describe(err)}`
  }
}

interface Convergence {
  converged: boolean
  ms: number
  /** When every replica first held its custodian's length, and when every node first reported no lag (ms after the writers stopped). */
  lengthsEqualMs?: number
  lagsZeroMs?: number
  /** Longest stretch in which every node reported no lag while some replica was behind (ms). */
  lagZeroWhileBehindMs: number
  /** What was still off at the end, if it did not converge. */
  remaining: string[]
}

async function waitForConvergence (users: readonly User[]): Promise<Convergence> {
  const start = Date.now()
  const deadline = start + CONVERGE_SECONDS * 1000
  const result: Convergence = { converged: false, ms: 0, lagZeroWhileBehindMs: 0, remaining: [] }
  let lagZeroWhileBehindSince: number | undefined
  for (;;) {
    const now = Date.now()
    const remaining: string[] = []
    let equal = true
    let status = new Map<string, StatusReply>()
    try {
      for (const u of users) {
        const target = await lengthAt(u.custodian, u)
        for (const node of net.names()) {
          if (node === u.custodian) continue
          const have = await lengthAt(node, u)
          if (have !== target) {
            equal = false
            remaining.push(`${node} holds ${have} of ${target} entries of ${u.id.slice(0, 8)}… (custodian ${u.custodian})`)
          }
        }
      }
      status = await statuses()
    } catch (err) {
      equal = false
      remaining.push(`could not read: ${describe(err)}`)
    }
    const lagsZero = status.size > 0 && [...status.values()].every(lagIsZero)
    for (const [name, s] of status) if (!lagIsZero(s)) remaining.push(`${name} reports replication lag ${lagOf(s)}`)
    if (equal) result.lengthsEqualMs ??= now - start
    if (lagsZero) result.lagsZeroMs ??= now - start
    if (lagsZero && !equal) {
      lagZeroWhileBehindSince ??= now
      result.lagZeroWhileBehindMs = Math.max(result.lagZeroWhileBehindMs, now - lagZeroWhileBehindSince)
    } else {
      lagZeroWhileBehindSince = undefined
    }
    result.remaining = remaining
    if (equal && lagsZero) { result.converged = true; result.ms = now - start; return result }
    if (now > deadline) { result.ms = now - start; return result }
    await sleep(CONVERGE_POLL_MS)
  }
}

// ---- the final checks

interface Checks {
  /** Acknowledged writes not at their position on their custodian. */
  lost: string[]
  /** Per node: acknowledged writes not at their position there (custodians excluded: those are `lost`). */
  missing: Map<string, number>
  missingExamples: string[]
  /** (node, chain) pairs whose /verify is not valid. */
  invalid: string[]
  verifications: number
  /** Entry ids found at more than one position of a chain. */
  duplicates: string[]
}

async function check (users: readonly User[]): Promise<Checks> {
  const result: Checks = { lost: [], missing: new Map(), missingExamples: [], invalid: [], verifications: 0, duplicates: [] }
  const acksOf = new Map<User, Ack[]>(users.map((u) => [u, []]))
  for (const a of acks) acksOf.get(a.user)!.push(a)
  for (const node of net.names()) {
    let missing = 0
    for (const u of users) {
      const ids = new Map<number, string>()
      try {
        const read = await net.call(node, async (c) => await c.entries(u.id), { wholeChain: true })
        const seen = new Map<string, number>()
        for (const e of read.entries) {
          ids.set(e.seq, e.id)
          const at = seen.get(e.id)
          if (at !== undefined && node === u.custodian) result.duplicates.push(`${u.id.slice(0, 8)}…: entry ${e.id} at positions ${at} and ${e.seq} (${node})`)
          seen.set(e.id, e.seq)
        }
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'UNKNOWN_CHAIN')) throw err
      }
      for (const a of acksOf.get(u)!) {
        if (ids.get(a.seq) === a.id) continue
        const what = `${u.id.slice(0, 8)}… position ${a.seq}, entry ${a.id} (written via ${a.via}, run ${a.generation + 1}): ${ids.has(a.seq) ? `${node} has entry ${ids.get(a.seq)} there` : `${node} has no entry there`}`
        if (node === u.custodian) result.lost.push(what)
        else {
          missing++
          if (result.missingExamples.length < 5) result.missingExamples.push(what)
        }
      }
      try {
        const report = await net.call(node, async (c) => await c.verify(u.id), { wholeChain: true })
        result.verifications++
        if (!report.valid || report.forked) {
          const problems = report.problems.slice(0, 3).map((p) => `${p.code}${p.seq === null ? '' : `@${p.seq}`}`).join(', ')
          result.invalid.push(`${u.id.slice(0, 8)}… on ${node}: ${report.forked ? 'forked' : 'invalid'} (${problems || report.tree.problem || 'no detail'}), ${report.verified} of ${report.length} verified`)
        }
      } catch (err) {
        result.invalid.push(`${u.id.slice(0, 8)}… on ${node}: /verify failed: ${describe(err)}`)
      }
    }
    result.missing.set(node, missing)
  }
  return result
}

// ---- the run

async function enrol (): Promise<User[]> {
  const users: User[] = []
  for (let i = 0; i < USERS; i++) {
    const keys = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const custodian = EXAMINERS[i % 2]!
    await net.call(custodian, async (c) => await enrolUser(c, keys, crypto, custodian))
    users.push({ keys, id: keys.userId, custodian })
  }
  return users
}

/** Until every node holds every chain (so writes through the other examiner can be forwarded from the start). */
async function waitUntilHeldEverywhere (users: readonly User[]): Promise<void> {
  const deadline = Date.now() + CONVERGE_SECONDS * 1000
  for (;;) {
    const held = await Promise.all(users.flatMap((u) => net.names().map(async (n) => await lengthAt(n, u) >= 1)))
    if (held.every(Boolean)) return
    if (Date.now() > deadline) throw new Error(`the enrolled chains did not reach every node within ${CONVERGE_SECONDS} s`)
    await sleep(CATCH_UP_POLL_MS)
  }
}

/** Starts the dev process, trying again if a start fails (a port still held a moment after the kill, say); the last failure is thrown. */
async function startNetwork (dev: DevProcess, fresh: boolean): Promise<DevManifest> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dev.start(fresh && attempt === 1)
    } catch (err) {
      if (!(err instanceof DevStartError) || attempt >= START_ATTEMPTS) throw err
      progress(`start ${attempt} failed; trying again: ${err.message.split('\n')[0]}`)
      await sleep(1_000)
    }
  }
}

/** Kill moments (ms after the writes began): one at a random point of each of `KILLS` equal slots of the run, leaving its first and last half-slot alone. */
function killSchedule (): number[] {
  const slot = SECONDS * 1000 / (KILLS + 1)
  return Array.from({ length: KILLS }, (_, i) => Math.round(slot * (i + 0.5 + random())))
}

function table (rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n')
}

const seconds = (ms: number | undefined): string => ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`

async function main (): Promise<number> {
  const ownDir = args.dir === undefined
  const dir = ownDir ? await mkdtemp(join(tmpdir(), 'healthchain-chaos-')) : resolve(args.dir!)
  const dev = new DevProcess({ dir, basePort: BASE_PORT, readyTimeoutMs: 120_000, stopTimeoutMs: 30_000 })
  let interrupted = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return
    interrupted = true
    console.error(`\n${signal}: killing the dev network${ownDir ? ` and removing ${dir}` : ''}`)
    dev.killNow()
    if (ownDir) rmSync(dir, { recursive: true, force: true })
    process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => { dev.killNow() })

  const restarts: Restart[] = []
  const catchUps: Array<Promise<void>> = []
  try {
    console.error(`chaos: ${SECONDS} s of writes, ${KILLS} kills, ${USERS} users, ${WRITERS} writers, base port ${BASE_PORT}, seed ${SEED}, dir ${dir}`)
    clockStart = Date.now()
    await net.connect(await startNetwork(dev, true))
    upAt[0] = Date.now()
    progress(`network up (pid ${dev.pid}); enrolling ${USERS} users`)
    const users = await enrol()
    await waitUntilHeldEverywhere(users)
    progress(`every node holds the ${USERS} chains; starting ${WRITERS} writers`)

    clockStart = Date.now()
    upAt[0] = clockStart
    const schedule = killSchedule()
    const writers = Array.from({ length: WRITERS }, async () => { await writer(users) })
    for (const [i, at] of schedule.entries()) {
      await sleep(Math.max(0, at - (Date.now() - clockStart)))
      await net.whenUp()
      const restart: Restart = { index: i + 1, killedAt: Date.now(), maxReportedLag: 0 }
      restarts.push(restart)
      net.markDown()
      await dev.kill()
      progress(`kill ${i + 1}: SIGKILL (${acks.length} writes acknowledged so far); restarting`)
      await net.connect(await startNetwork(dev, false))
      restart.upAt = Date.now()
      upAt[net.generation] = restart.upAt
      progress(`restart ${i + 1}: up after ${seconds(restart.upAt - restart.killedAt)} (pid ${dev.pid}), logged in again`)
      catchUps.push(measureCatchUp(restart, users, net.generation))
    }
    const lastUp = restarts.at(-1)?.upAt ?? clockStart
    const endAt = Math.max(clockStart + SECONDS * 1000, lastUp + WRITES_AFTER_LAST_RESTART_MS)
    await sleep(Math.max(0, endAt - Date.now()))
    stopWriting = true
    await Promise.all(writers)
    const writeMs = Date.now() - clockStart
    progress(`writers stopped: ${acks.length} writes acknowledged; waiting for convergence (at most ${CONVERGE_SECONDS} s)`)
    await Promise.all(catchUps)

    const convergence = await waitForConvergence(users)
    progress(convergence.converged ? `converged after ${seconds(convergence.ms)}; checking every chain on every node` : 'did not converge; checking every chain on every node anyway')
    const checks = await check(users)

    // ---- the report
    const forwarded = acks.filter((a) => a.via !== a.user.custodian).length
    const duplicateAcks = acks.length - new Set(acks.map((a) => `${a.user.id} ${a.id}`)).size
    const missingTotal = [...checks.missing.values()].reduce((s, n) => s + n, 0)
    const failureList = [...failures].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ')
    console.log(`\nchaos run: ${seconds(writeMs)} of writes, ${restarts.length} kills, ${USERS} users, ${WRITERS} writers, seed ${SEED}\n`)
    console.log(table([
      ['acknowledged writes', String(acks.length), `${acks.length - forwarded} at the custodian, ${forwarded} forwarded by the other examiner; ${(acks.length / (writeMs / 1000)).toFixed(0)}/s`],
      ['writes not acknowledged', String([...failures.values()].reduce((s, n) => s + n, 0)), failureList || '—'],
      ['acknowledged writes lost', String(checks.lost.length), 'not at their position on their custodian'],
      ['missing on replicas', String(missingTotal), [...checks.missing].map(([n, c]) => `${n} ${c}`).join(', ')],
      ['chains invalid', String(checks.invalid.length), `${checks.verifications} verifications (${USERS} chains × ${net.names().length} nodes)`],
      ['duplicate entries', String(checks.duplicates.length + duplicateAcks), 'an entry id at two positions, or acknowledged twice'],
      ['converged', convergence.converged ? 'yes' : 'no', convergence.converged
        ? `${seconds(convergence.ms)} after the writers stopped (lengths equal at ${seconds(convergence.lengthsEqualMs)}, lags 0 at ${seconds(convergence.lagsZeroMs)})`
        : `not within ${CONVERGE_SECONDS} s`],
      ['429 answers', String(net.rateLimited), `requests paced at ${REQUESTS_PER_SECOND}/s per node`]
    ]))
    if (restarts.length > 0) {
      console.log('\n' + table([
        ['restart', 'killed at', 'back up after', 'acked in run before', 'replicas behind at restart', 'caught up after (from up)', 'max lag reported'],
        ...restarts.map((r) => [
          String(r.index),
          elapsed(r.killedAt),
          seconds(r.upAt === undefined ? undefined : r.upAt - r.killedAt),
          String(acks.filter((a) => a.generation === r.index - 1).length),
          r.behindPairs === undefined ? '—' : `${r.behindPairs} (node, chain) pairs, ${r.behindBlocks} blocks`,
          r.caughtUpMs !== undefined ? seconds(r.caughtUpMs) : r.unfinished ?? '—',
          `${r.maxReportedLag} blocks`
        ])
      ]))
    }
    if (failureNotes.length > 0) {
      console.log('\nrefused writes (the first of each code):')
      for (const f of failureNotes) {
        const sinceUp = f.startedAt - (upAt[f.generation] ?? clockStart)
        console.log(`  ${f.code}: at ${elapsed(f.startedAt)} (${seconds(sinceUp)} into run ${f.generation + 1}), via ${f.via}, custodian ${f.user.custodian}${f.via === f.user.custodian ? '' : ' (forwarded)'}, answered after ${seconds(f.tookMs)}: ${f.message}`)
      }
    }
    if (convergence.lagZeroWhileBehindMs > 0) {
      console.log(`\nnote: for up to ${seconds(convergence.lagZeroWhileBehindMs)} every node reported replication lag 0 while a replica was behind its custodian`)
    }

    const failed: string[] = []
    if (checks.lost.length > 0) failed.push(`${checks.lost.length} acknowledged writes lost:\n  ${checks.lost.slice(0, 10).join('\n  ')}`)
    if (missingTotal > 0) failed.push(`${missingTotal} acknowledged writes missing on replicas, e.g.:\n  ${checks.missingExamples.join('\n  ')}`)
    if (checks.invalid.length > 0) failed.push(`${checks.invalid.length} chains invalid:\n  ${checks.invalid.slice(0, 10).join('\n  ')}`)
    if (!convergence.converged) failed.push(`not converged within ${CONVERGE_SECONDS} s:\n  ${convergence.remaining.slice(0, 10).join('\n  ')}`)
    if (checks.duplicates.length + duplicateAcks > 0) {
      const lines = [...checks.duplicates.slice(0, 10), ...(duplicateAcks > 0 ? [`${duplicateAcks} acknowledgements repeat an entry id`] : [])]
      console.log(`\nwarning: duplicate entries:\n  ${lines.join('\n  ')}`)
    }

    const clean = await dev.stop()
    if (!clean) console.log(`\nwarning: the dev network did not stop cleanly on SIGTERM:\n${dev.outputTail(15)}`)
    if (failed.length > 0) {
      console.log(`\nFAILED:\n${failed.join('\n')}`)
      return 1
    }
    console.log('\npassed: no acknowledged write lost, every chain valid on every node, converged')
    return 0
  } catch (err) {
    console.error(`\nchaos run failed: ${describe(err)}`)
    if (!(err instanceof DevStartError)) console.error(`last lines of healthchain dev:\n${dev.outputTail(15)}`)
    await dev.kill()
    return 1
  } finally {
    dev.killNow()
    if (ownDir) await rm(dir, { recursive: true, force: true })
    else console.error(`the network's data is kept in ${dir}`)
  }
}

process.exitCode = await main()
