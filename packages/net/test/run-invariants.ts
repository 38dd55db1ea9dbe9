/**
 * The lifecycle invariants (packages/net/test/lifecycle-invariants.test.ts) for as long as
 * asked: random sequences of steps on a fresh consortium of real nodes on
 * 127.0.0.1, each checked after every step and once quiet. Prints a line per
 * sequence and the totals; a failure prints the shrunk sequence as code
 * (paste it into a test to replay it) and exits 1.
 *
 *   npm run invariants -- [--minutes 10] [--seed N] [--steps 24] [--no-lies]
 */
import fc from 'fast-check'
import { emptyTotals, lifecycleProperty } from './helpers/lifecycle-commands.js'

function option (name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  if (at === -1) return fallback
  const value = Number(process.argv[at + 1])
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`error USAGE: --${name} takes a positive number`)
    process.exit(2)
  }
  return value
}

const minutes = option('minutes', 10)
const seed = option('seed', Date.now() % 2 ** 31)
const maxSteps = option('steps', 24)
const lies = !process.argv.includes('--no-lies')
const totals = emptyTotals()
const started = Date.now()
console.log(`lifecycle invariants for ${minutes} min, seed ${seed}, up to ${maxSteps} steps a sequence${lies ? '' : ', no lies'}`)

const report = (): string => `${totals.sequences} sequences, ${totals.steps} steps, ${totals.checks} invariant checks, ${totals.acked} writes acknowledged, ` +
  `${totals.restarts} restarts, ${totals.idleCloses} idle closes, ${totals.isolations} isolations, ${totals.lies} lies, ${totals.equivocations} equivocations, ${totals.erasures} erasures, ${totals.rotations} key rotations, ${totals.transfers} transfers, ${totals.rogues} rogue appends, ${totals.rekeys} user rekeys`

try {
  await fc.assert(lifecycleProperty(totals, {
    maxSteps,
    lies,
    onSequence: (world) => {
      const elapsed = ((Date.now() - started) / 60_000).toFixed(1)
      console.log(`[${elapsed} min] sequence ${totals.sequences}: ${world.stats.steps} steps, ${world.stats.checks} checks (${world.summary()})`)
    }
  }), { numRuns: 1_000_000, seed, interruptAfterTimeLimit: minutes * 60_000, markInterruptAsFailure: false })
  console.log(`passed: ${report()}`)
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err))
  // fast-check keeps what the failing step threw as the cause: the invariant broken, and how.
  const cause = err instanceof Error ? err.cause : undefined
  if (cause !== undefined) console.error(`cause: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`)
  console.error(`failed after: ${report()}`)
  process.exit(1)
}
process.exit(0)
