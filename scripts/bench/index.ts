/**
 * `npm run bench`: every benchmark, figures and ratios against baselines
 * measured in the same run, printed as a table and written to
 * bench-results/latest.json. `--quick` runs smaller counts (a smoke run).
 */
import { ledgerBench } from './ledger-bench.js'
import { netBench } from './net-bench.js'
import { printTable, writeResults, type Figure } from './measure.js'

const quick = process.argv.includes('--quick')

async function main (): Promise<void> {
  const figures: Figure[] = []
  console.log(`healthchain benchmarks (${quick ? 'quick' : 'full'}) on node ${process.version}`)
  console.log('ledger: sealed appends and verification …')
  figures.push(...await ledgerBench({ count: quick ? 300 : 3000 }))
  console.log('net: propagation, replication throughput, a node holding many chains …')
  figures.push(...await netBench({ quick }))
  console.log('')
  printTable(figures)
  const file = await writeResults(figures)
  console.log(`\nfigures written to ${file}`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
