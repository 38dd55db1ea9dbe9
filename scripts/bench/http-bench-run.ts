/**
 * Runs the HTTP write benchmark alone and prints its figures as JSON:
 *
 *   npx tsx scripts/bench/http-bench-run.ts [--quick]
 */
import { benchHttpWrites } from './http-bench.js'

async function main (): Promise<void> {
  const result = await benchHttpWrites({ quick: process.argv.includes('--quick') })
  console.log(JSON.stringify(result, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
