/**
 * Runs the light-peer catch-up benchmark alone and prints its figures as JSON:
 *
 *   npx tsx scripts/bench/light-bench-run.ts [--quick]
 *
 * Progress goes to stderr, the JSON to stdout. (`benchLightCatchUp` returns
 * the figures for a combined runner too.)
 */
import { benchLightCatchUp } from './light-bench.js'

const quick = process.argv.includes('--quick')

benchLightCatchUp({ quick }).then((figures) => {
  console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, mode: quick ? 'quick' : 'full', figures }, null, 2))
}).catch((err) => {
  console.error(err)
  process.exitCode = 1
})
