/**
 * `npm run bench`: every benchmark, figures and ratios against baselines
 * measured in the same run, printed as a table and written to
 * bench-results/latest.json. `--quick` runs smaller counts (a smoke run);
 * `--only PART` runs one part: ledger, net-propagation, net-replication or
 * net-holder.
 */
import { ledgerBench } from './ledger-bench.js'
import { netBench } from './net-bench.js'
import { printTable, writeResults, type Figure } from './measure.js'

const quick = process.argv.includes('--quick')
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1]
const PARTS = ['ledger', 'net-propagation', 'net-replication', 'net-holder']
if (only !== undefined && !PARTS.includes(only)) throw new Error(`--only takes one of ${PARTS.join(', ')}`)
const runs = (part: string): boolean => only === undefined || only === part

async function main (): Promise<void> {
  const figures: Figure[] = []
  console.log(`healthchain benchmarks (${quick ? 'quick' : 'full'}) on node ${process.version}`)
  if (runs('ledger')) {
    console.log('ledger: sealed appends and verification …')
    figures.push(...await ledgerBench({ count: quick ? 300 : 3000 }))
  }
  console.log('net: propagation, replication throughput, a node holding many chains …')
  figures.push(...await netBench({ quick, runs }))
  console.log('')
  printTable(figures)
  // A partial run must not overwrite the figures of the last full one.
  const file = await writeResults(figures, only === undefined ? 'latest.json' : `only-${only}.json`)
  console.log(`\nfigures written to ${file}`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
