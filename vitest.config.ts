import { defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

/**
 * Tests run the TypeScript sources: each workspace package's exports name them under this condition, before the
 * release build's dist/ files. Vitest resolves with it; NODE_OPTIONS carries it to what the tests start with Node
 * itself (worker threads, and child processes such as the `healthchain` command or a tsx-run fixture).
 */
const SOURCE_CONDITION = '@healthchain/source'
const conditionFlag = `--conditions=${SOURCE_CONDITION}`
if (!(process.env.NODE_OPTIONS ?? '').includes(conditionFlag)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${conditionFlag}`.trim()
}

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions], externalConditions: [SOURCE_CONDITION] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'node/test/**/*.test.ts', 'console/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that open Corestores are I/O-bound; two workers match the CI machine's two cores.
    maxWorkers: 2,
    reporters: ['default', './scripts/vitest-summary-reporter.ts']
  }
})
