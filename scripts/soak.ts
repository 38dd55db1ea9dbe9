/**
 * `npm run soak`: memory under steady load. The dev network's four nodes,
 * each its own process, take sealed exam writes over HTTP at a steady rate
 * for as long as asked, while each node's memory is sampled; at the end,
 * the growth over the last third of the run decides PASS or FAIL.
 *
 *   set up a fresh dev network (healthchain dev --fresh, then stopped) ─►
 *   start each node with healthchain start --config, one process each ─►
 *   wait until each is connected to the three others ─► staff log in at
 *   both examiners, enrol --users users ─► --rate exams a second for
 *   --minutes, round robin over the users, each to its custodian
 *   (soak/load.ts) ─► every --sample-seconds: each node's RSS (from
 *   /proc/<pid>/status), V8 heap in use and external memory (from a probe
 *   loaded into each node, soak/memory-probe.mjs), writes done, failed ─►
 *   stop the writes and the nodes ─► the table, and the verdict.
 *
 * The verdict: for each node, RSS averaged over the samples of the last
 * --window of the run (default a twentieth of it) against RSS averaged over
 * the same span ending at the two-thirds mark; PASS if every node grew less
 * than --max-growth percent (default 5). A rate the nodes cannot keep up with
 * shows as skipped writes (more than --max-in-flight outstanding).
 *
 * The nodes run with the allocator the container image gives them
 * (jemalloc, preloaded) when it is installed here; `--allocator` picks
 * another to compare (soak/allocator.ts). Every sixth sample also reads
 * each node's memory map, and the report ends with where its RSS is
 * (soak/memory-map.ts).
 *
 * --heap-snapshots writes a V8 heap snapshot of every node just before
 * the writes begin and after the last sample (into <dir>/soak/<node>/; the
 * node pauses while it writes); `npx tsx scripts/soak/heap-diff.ts A B`
 * compares two. Neither falls in the last third: writing a snapshot takes
 * memory of its own, which the process keeps, and would skew the verdict.
 * Memory figures depend on the machine and on what else runs on it: a
 * shared, busy machine makes the early figures noisy.
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { statusSchema } from '@healthchain/node/api'
import { ApiClient, MAX_BASE_PORT, MIN_BASE_PORT } from '@healthchain/node/cli'
import { demoArgs } from './demo-args.js'
import { ALLOCATORS, chooseAllocator, findJemalloc, type Allocator, type AllocatorChoice } from './soak/allocator.js'
import { SteadyLoad } from './soak/load.js'
import { setUpDevNetwork, startNodes, type MemorySample, type SoakNode } from './soak/node-processes.js'

const USAGE = `Usage: npm run soak -- [options]

Runs the dev network's four nodes, one process each, under a steady rate of
sealed exam writes over HTTP and samples each node's memory. Prints a
progress line per sample, a table at the end, each node's RSS at the start,
one third, two thirds and the end, and PASS or FAIL: PASS if no node's RSS
grew by --max-growth percent or more over the last third of the run.
  --minutes <n>          how long to write (default 30)
  --rate <n>             exam writes a second, over both examiners (default 150)
  --users <n>            users enrolled, half at hospital-a, half at hospital-b (default 50)
  --sample-seconds <n>   seconds between memory samples (default 5)
  --max-growth <pct>     the last third's allowed RSS growth, percent (default 5)
  --max-in-flight <n>    writes outstanding at most; beyond, a due write is skipped (default 200)
  --allocator <name>     the nodes' memory allocator: auto (default: jemalloc, as the container
                         image runs nodes, when installed, else glibc-arenas), jemalloc,
                         glibc-arenas (glibc with MALLOC_ARENA_MAX=2) or glibc (as it is)
  --heap-snapshots       write a heap snapshot of each node before the writes and after the
                         last sample (compare them with scripts/soak/heap-diff.ts)
  --out <file>           also write every sample as JSON to this file
  --dir <path>           the network's directory; recreated and kept
                         (default: a temporary directory, removed at the end)
  --base-port <port>     the network's first port (default 7600: APIs on +0..3)
Exit 0 on PASS, 1 on FAIL or if the run could not be made.`

const args = demoArgs(() => parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '150' },
    users: { type: 'string', default: '50' },
    'sample-seconds': { type: 'string', default: '5' },
    'max-growth': { type: 'string', default: '5' },
    'max-in-flight': { type: 'string', default: '200' },
    allocator: { type: 'string', default: 'auto' },
    'heap-snapshots': { type: 'boolean', default: false },
    out: { type: 'string' },
    dir: { type: 'string' },
    'base-port': { type: 'string', default: '7600' },
    help: { type: 'boolean', short: 'h', default: false }
  }
}), USAGE)

function numberOption (name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value)
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value) || n < min || n > max) {
    console.error(`error USAGE: --${name} takes a number from ${min} to ${max}\n\n${USAGE}`)
    process.exit(2)
  }
  return n
}

const MINUTES = numberOption('minutes', args.minutes, 0.5, 7 * 24 * 60)
const RATE = numberOption('rate', args.rate, 1, 100_000)
const USERS = Math.round(numberOption('users', args.users, 2, 100_000))
const SAMPLE_MS = numberOption('sample-seconds', args['sample-seconds'], 1, 3600) * 1000
const MAX_GROWTH = numberOption('max-growth', args['max-growth'], 0, 1000)
const MAX_IN_FLIGHT = Math.round(numberOption('max-in-flight', args['max-in-flight'], 1, 100_000))
const BASE_PORT = Math.round(numberOption('base-port', args['base-port'], MIN_BASE_PORT, MAX_BASE_PORT))
const ALLOCATOR = ((): Allocator => {
  const choice = args.allocator
  if (!(ALLOCATORS as readonly string[]).includes(choice)) {
    console.error(`error USAGE: --allocator takes one of ${ALLOCATORS.join(', ')}\n\n${USAGE}`)
    process.exit(2)
  }
  try {
    return chooseAllocator(choice as AllocatorChoice, findJemalloc() ?? null)
  } catch (err) {
    console.error(`error ${(err as Error).message}`)
    process.exit(2)
  }
})()
const CONNECT_TIMEOUT_MS = 60_000
/** Rows of the final table (evenly spaced samples). */
const TABLE_ROWS = 13
/** Every how many samples the memory map (where the RSS is) is read too. */
const MAP_EVERY = 6

const MiB = 1024 * 1024
const mib = (bytes: number | null): string => bytes === null ? '-' : (bytes / MiB).toFixed(0)
const clockStart = Date.now()
const clock = (ms = Date.now() - clockStart): string => {
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}
function progress (line: string): void { console.error(`[${clock().padStart(6)}] ${line}`) }

interface Sample {
  /** ms since the writes began */
  readonly t: number
  readonly written: number
  readonly failed: number
  readonly skipped: number
  readonly nodes: Record<string, MemorySample | null>
}

/** A heap snapshot of each node, one node at a time (each pauses its node, and takes memory and CPU of its own). */
async function takeSnapshots (nodes: readonly SoakNode[], when: string): Promise<void> {
  for (const n of nodes) {
    const file = await n.heapSnapshot()
    progress(file === undefined ? `${n.name}: no heap snapshot (${when})` : `${n.name}: heap snapshot (${when}) ${file}`)
  }
}

async function waitConnected (nodes: readonly SoakNode[]): Promise<void> {
  const deadline = Date.now() + CONNECT_TIMEOUT_MS
  for (const node of nodes) {
    const api = new ApiClient(node.api)
    for (;;) {
      const status = await api.request('GET', '/v1/status', statusSchema)
      if (status.connectedPeers.length >= nodes.length - 1) break
      if (Date.now() > deadline) throw new Error(`${node.name} is connected to ${status.connectedPeers.length} of the ${nodes.length - 1} others after ${CONNECT_TIMEOUT_MS / 1000} s`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

/** RSS of `node` averaged over the samples with t in (from, to]; null if none. */
function meanRss (samples: readonly Sample[], node: string, from: number, to: number): number | null {
  const values = samples.filter((s) => s.t > from && s.t <= to).map((s) => s.nodes[node]?.rss).filter((v): v is number => v !== undefined)
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length
}

function report (samples: readonly Sample[], nodes: readonly SoakNode[], durationMs: number): boolean {
  const rows = samples.length <= TABLE_ROWS
    ? samples
    : Array.from({ length: TABLE_ROWS }, (_, i) => samples[Math.round(i * (samples.length - 1) / (TABLE_ROWS - 1))]!)
  console.log('\nmemory in MiB (rss / heapUsed / external)')
  console.log(['time'.padStart(6), ...nodes.map((n) => n.name.padStart(20)), 'written'.padStart(9), 'failed'.padStart(7), 'skipped'.padStart(8)].join('  '))
  for (const s of rows) {
    const cells = nodes.map((n) => {
      const m = s.nodes[n.name]
      return (m === null || m === undefined ? 'gone' : `${mib(m.rss)} / ${mib(m.heapUsed)} / ${mib(m.external)}`).padStart(20)
    })
    console.log([clock(s.t).padStart(6), ...cells, String(s.written).padStart(9), String(s.failed).padStart(7), String(s.skipped).padStart(8)].join('  '))
  }
  const last = samples[samples.length - 1]!
  const window = Math.max(SAMPLE_MS * 2, durationMs / 20)
  console.log(`\nRSS in MiB, each the mean over ${(window / 1000).toFixed(0)} s ending at the mark; growth of the last third (limit ${MAX_GROWTH}%):`)
  console.log(['node'.padEnd(10), 'start', '1/3', '2/3', 'end', 'growth'].map((h, i) => i === 0 ? h : h.padStart(7)).join('  '))
  let pass = true
  for (const n of nodes) {
    const at = (mark: number): number | null => meanRss(samples, n.name, Math.max(0, mark - window), mark)
    const start = meanRss(samples, n.name, -1, window)
    const third = at(durationMs / 3)
    const twoThirds = at(durationMs * 2 / 3)
    const end = at(durationMs)
    const growth = twoThirds === null || end === null ? null : (end / twoThirds - 1) * 100
    if (growth === null || growth >= MAX_GROWTH) pass = false
    console.log([n.name.padEnd(10), ...[start, third, twoThirds, end].map((v) => mib(v).padStart(7)), (growth === null ? '-' : `${growth.toFixed(1)}%`).padStart(7)].join('  '))
  }
  const seconds = durationMs / 1000
  console.log(`\nwritten ${last.written} (${(last.written / seconds).toFixed(1)}/s of ${RATE}/s asked), failed ${last.failed}, skipped ${last.skipped}; nodes' ${ALLOCATOR.note}`)
  if (last.failed > 0 || last.skipped > 0) console.log('note: failed or skipped writes mean the nodes did not take the asked rate; the memory figures are for the rate they took')
  reportWhere(samples, nodes, durationMs)
  console.log(pass ? 'PASS' : 'FAIL')
  return pass
}

/**
 * Where each node's RSS is at two thirds and at the end, from the samples with a memory map nearest each mark: glibc's
 * main and thread arenas, V8's committed heap (the main thread's; worker threads' heaps count under other anonymous),
 * the rest of anonymous memory, and mapped files. Says which kind grew when a node fails the verdict.
 */
function reportWhere (samples: readonly Sample[], nodes: readonly SoakNode[], durationMs: number): void {
  const mapped = samples.filter((s) => Object.values(s.nodes).some((m) => m?.map !== null && m?.map !== undefined))
  if (mapped.length === 0) return
  const nearest = (t: number): Sample => mapped.reduce((a, b) => Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a)
  const marks = [['2/3', nearest(durationMs * 2 / 3)], ['end', nearest(durationMs)]] as const
  const arenas = ALLOCATOR.name === 'jemalloc' ? ' (jemalloc\'s memory counts as other anonymous)' : ''
  console.log(`\nwhere the RSS is, MiB (glibc's main arena / its thread arenas / V8 heap committed / other anonymous / files)${arenas}:`)
  for (const n of nodes) {
    const cells = marks.map(([label, s]) => {
      const m = s.nodes[n.name]
      if (m === null || m === undefined || m.map === null) return `${label} -`
      const otherAnonymous = m.map.otherAnonymous - (m.heapTotal ?? 0)
      return `${label} (${clock(s.t)}) ${[m.map.mainArena, m.map.threadArenas, m.heapTotal, otherAnonymous, m.map.file].map(mib).join(' / ')}`
    })
    console.log(`  ${n.name.padEnd(10)}  ${cells.join('    ')}`)
  }
}

async function main (): Promise<number> {
  const dir = args.dir === undefined ? await mkdtemp(join(tmpdir(), 'healthchain-soak-')) : resolve(args.dir)
  const removeDir = args.dir === undefined
  let nodes: SoakNode[] = []
  const killAll = (): void => { for (const n of nodes) n.killNow() }
  process.once('exit', () => {
    killAll()
    if (removeDir) rmSync(dir, { recursive: true, force: true })
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { killAll(); process.exit(1) })
  try {
    progress(`setting up a fresh dev network in ${dir}`)
    await setUpDevNetwork(dir, BASE_PORT)
    progress(ALLOCATOR.note)
    nodes = await startNodes(dir, BASE_PORT, [], ALLOCATOR.env, progress)
    await waitConnected(nodes)
    progress(`all four connected; enrolling ${USERS} users`)
    const load = await SteadyLoad.prepare(nodes, { users: USERS, rate: RATE, maxInFlight: MAX_IN_FLIGHT })
    const durationMs = MINUTES * 60_000
    const samples: Sample[] = []
    const take = (t: number): Sample => {
      const s: Sample = {
        t,
        written: load.counts.written,
        failed: load.counts.failed,
        skipped: load.counts.skipped,
        nodes: Object.fromEntries(nodes.map((n) => [n.name, n.sample(samples.length % MAP_EVERY === 0)]))
      }
      samples.push(s)
      return s
    }
    progress(`writing ${RATE} exams/s for ${MINUTES} min; a sample every ${SAMPLE_MS / 1000} s (rss/heapUsed MiB per node)`)
    if (args['heap-snapshots']) await takeSnapshots(nodes, 'start')
    take(0)
    const started = Date.now()
    load.start()
    for (;;) {
      const next = started + samples.length * SAMPLE_MS
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
      const t = Math.min(Date.now() - started, durationMs)
      const s = take(t)
      const gone = nodes.filter((n) => !n.running)
      if (gone.length > 0) throw new Error(`${gone.map((n) => n.name).join(', ')} exited during the run:\n${gone.map((n) => n.outputTail()).join('\n')}`)
      const mem = nodes.map((n) => `${n.name} ${mib(s.nodes[n.name]?.rss ?? null)}/${mib(s.nodes[n.name]?.heapUsed ?? null)}`).join('  ')
      progress(`${mem}  written ${s.written} failed ${s.failed} skipped ${s.skipped} in flight ${load.counts.inFlight}`)
      if (t >= durationMs) break
    }
    await load.stop()
    const failures = [...load.counts.failures].map(([code, count]) => `${code} ${count}`).join(', ')
    if (failures !== '') progress(`failures by code: ${failures}`)
    if (args['heap-snapshots']) await takeSnapshots(nodes, 'end')
    if (args.out !== undefined) await writeFile(args.out, JSON.stringify({ rate: RATE, users: USERS, minutes: MINUTES, samples }, null, 1) + '\n')
    progress('stopping the nodes')
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    return report(samples, nodes, durationMs) ? 0 : 1
  } catch (err) {
    console.error(`soak run failed: ${(err as Error).message}`)
    return 1
  } finally {
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    if (removeDir) await rm(dir, { recursive: true, force: true })
  }
}

process.exitCode = await main()
