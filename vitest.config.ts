import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'node/test/**/*.test.ts', 'console/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests that open Corestores are I/O-bound; two workers match the CI machine's two cores.
    maxWorkers: 2,
    reporters: ['default', './scripts/vitest-summary-reporter.ts']
  }
})
