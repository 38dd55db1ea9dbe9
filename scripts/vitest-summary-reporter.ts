/**
 * Adds one plain closing line to vitest's output — "N passed, N failed" (and
 * ", N skipped") — the form CI reads to count tests in any language.
 */
import type { Reporter, TestCase } from 'vitest/node'

export default class SummaryReporter implements Reporter {
  private passed = 0
  private failed = 0
  private skipped = 0

  onTestCaseResult (testCase: TestCase): void {
    const state = testCase.result().state
    if (state === 'passed') this.passed++
    else if (state === 'failed') this.failed++
    else if (state === 'skipped') this.skipped++
  }

  onTestRunEnd (): void {
    const skipped = this.skipped > 0 ? `, ${this.skipped} skipped` : ''
    process.stdout.write(`\n${this.passed} passed, ${this.failed} failed${skipped}\n`)
  }
}
