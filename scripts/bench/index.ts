/**
 * `npm run bench`: every benchmark, figures and ratios against baselines
 * measured in the same run, printed as a table and written to
 * bench-results/latest.json. `--quick` runs smaller counts (a smoke run);
 * `--only PART` runs one part: ledger, net-propagation, net-replication,
 * net-holder, http, index, light, erasure.
 */
import { benchErasure } from './erasure-bench.js'
import { benchHttpWrites, type HttpBenchResult } from './http-bench.js'
import { benchQueryIndex } from './index-bench.js'
import { benchLightCatchUp } from './light-bench.js'
import { ledgerBench } from './ledger-bench.js'
import { netBench } from './net-bench.js'
import { printTable, writeResults, type Figure } from './measure.js'

const quick = process.argv.includes('--quick')
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1]
const PARTS = ['ledger', 'net-propagation', 'net-replication', 'net-holder', 'http', 'index', 'light', 'erasure']
if (only !== undefined && !PARTS.includes(only)) throw new Error(`--only takes one of ${PARTS.join(', ')}`)
const runs = (part: string): boolean => only === undefined || only === part

async function main (): Promise<void> {
  const figures: Figure[] = []
  console.log(`healthchain benchmarks (${quick ? 'quick' : 'full'}) on node ${process.version}`)
  if (runs('ledger')) {
    console.log('ledger: sealed appends and verification …')
    figures.push(...await ledgerBench({ count: quick ? 300 : 3000 }))
  }
  if (['net-propagation', 'net-replication', 'net-holder'].some(runs)) {
    console.log('net: propagation, replication throughput, a node holding many chains …')
    figures.push(...await netBench({ quick, runs }))
  }
  if (runs('light')) {
    console.log('light: a phone catching up on 1,000 own entries, beside a full replica …')
    figures.push(...await benchLightCatchUp({ quick }))
  }
  if (runs('http')) {
    console.log('http: sealed exam writes from 50 concurrent clients, batches and FHIR Bundles, beside the crypto bound and the library rate …')
    figures.push(...httpFigures(await benchHttpWrites({ quick })))
  }
  if (runs('index')) {
    console.log('index: build rate beside the raw chain read rate; contact tracing over many location points …')
    figures.push(...await benchQueryIndex({ quick }))
  }
  if (runs('erasure')) {
    console.log('erasure: one erasure at the custodian of a store holding many chains, beside a plain append …')
    figures.push(...await benchErasure({ fillers: quick ? 500 : 5000, chains: quick ? 6 : 12 }))
  }
  console.log('')
  printTable(figures)
  // A partial run must not overwrite the figures of the last full one.
  const file = await writeResults(figures, only === undefined ? 'latest.json' : `only-${only}.json`)
  console.log(`\nfigures written to ${file}`)
}

/** The HTTP benchmark's result as figures: ratios against the crypto bound measured in the same run (target ≥ 0.6x, p99 < 50 ms). */
function httpFigures (r: HttpBenchResult): Figure[] {
  const section = 'http API'
  const bound = (value: number, target?: number): Figure['ratio'] => ({ against: 'crypto bound', value: value / r.cryptoBound, ...(target === undefined ? {} : { target }) })
  const batchFigures = (name: string, b: HttpBenchResult['batch']): Figure[] => [
    { section, name: `${name}, ${b.items} entries a request, ${b.connections} connections`, value: b.entriesPerSecond, unit: 'entries/s', ratio: bound(b.entriesPerSecond) },
    { section, name: `${name}: latency p99 of one request`, value: b.latencyMs.p99, unit: 'ms' },
    { section, name: `${name}: server CPU per entry (all threads)`, value: b.cpu.microsPerWrite, unit: 'µs' },
    { section, name: `${name}: event loop busy`, value: b.cpu.eventLoop.utilization, unit: '' },
    { section, name: `${name}: errors, timeouts and non-200 answers`, value: b.failures, unit: 'requests' }
  ]
  return [
    { section, name: 'seal (3 recipients) + sign alone: crypto bound (one thread)', value: r.cryptoBound, unit: 'entries/s' },
    {
      section,
      name: `HTTP sealed exam writes, ${r.connections} connections`,
      value: r.http.writesPerSecond,
      unit: 'writes/s',
      ratio: bound(r.http.writesPerSecond, r.target.ratioToCryptoBound)
    },
    { section, name: 'HTTP writes against library writes', value: r.http.writesPerSecond, unit: 'writes/s', ratio: { against: 'library writes', value: r.ratio } },
    { section, name: 'HTTP write latency p50', value: r.http.latencyMs.p50, unit: 'ms' },
    {
      section,
      name: `HTTP write latency p99 (target < ${r.target.p99Ms} ms)`,
      value: r.http.latencyMs.p99,
      unit: 'ms',
      // As a ratio of the target, so the table says meets or misses: at most 1.
      ratio: { against: `${r.target.p99Ms} ms`, value: r.target.p99Ms / Math.max(r.http.latencyMs.p99, 1e-9), target: 1 }
    },
    { section, name: `library writes (the same exams appended directly, ${r.connections} callers)`, value: r.library.writesPerSecond, unit: 'writes/s', ratio: bound(r.library.writesPerSecond) },
    {
      section,
      name: 'server CPU per HTTP write (all threads; the load generator is another process)',
      value: r.http.cpu.microsPerWrite,
      unit: 'µs',
      ratio: { against: 'library write', value: Math.round(r.http.cpu.microsPerWrite / r.library.cpu.microsPerWrite * 1000) / 1000 }
    },
    { section, name: 'server cores busy during the HTTP run', value: r.http.cpu.cores, unit: 'cores' },
    ...(r.http.cpu.eventLoop.microsPerWrite === null ? [] : [{ section, name: 'event loop CPU per HTTP write (its thread alone)', value: r.http.cpu.eventLoop.microsPerWrite, unit: 'µs' }]),
    { section, name: 'event loop busy during the HTTP run (1 = saturated: the bottleneck)', value: r.http.cpu.eventLoop.utilization, unit: '' },
    { section, name: 'storage read batches per HTTP write (RocksDB\'s own count)', value: r.http.storageReadsPerWrite, unit: 'reads' },
    { section, name: 'storage read batches per library write', value: r.library.storageReadsPerWrite, unit: 'reads' },
    { section, name: 'CPU per library write (all threads)', value: r.library.cpu.microsPerWrite, unit: 'µs' },
    ...(r.library.cpu.eventLoop.microsPerWrite === null ? [] : [{ section, name: 'event loop CPU per library write (its thread alone)', value: r.library.cpu.eventLoop.microsPerWrite, unit: 'µs' }]),
    ...batchFigures('batch route (POST /v1/entries/batch)', r.batch),
    ...batchFigures('FHIR transaction Bundle (POST /v1/fhir)', r.bundle),
    { section, name: `plain Hypercore appends of the same size (${r.users} cores, ${r.connections} callers)`, value: r.storage.appendsPerSecond, unit: 'appends/s' },
    { section, name: 'CPU per plain Hypercore append (all threads)', value: r.storage.cpu.microsPerWrite, unit: 'µs' },
    { section, name: 'HTTP errors, timeouts and non-2xx answers', value: r.http.errors + r.http.timeouts + r.http.non2xx, unit: 'requests' },
    { section, name: 'load average (1 min) when the run began', value: r.loadAverage1m, unit: '' }
  ]
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
