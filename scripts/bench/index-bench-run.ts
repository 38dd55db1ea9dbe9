/**
 * Runs the query-index benchmarks alone and prints their figures as JSON:
 *
 *   tsx scripts/bench/index-bench-run.ts [--quick]
 *
 * Progress goes to stderr, the JSON to stdout. (`benchQueryIndex` returns
 * the same figures for the combined runner, scripts/bench/index.ts.)
 */
import { benchQueryIndex } from './index-bench.js'

const quick = process.argv.includes('--quick')

benchQueryIndex({ quick, log: (line) => { process.stderr.write(line + '\n') } }).then((figures) => {
  console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, mode: quick ? 'quick' : 'full', figures }, null, 2))
}).catch((err) => {
  console.error(err)
  process.exitCode = 1
})
