/** The mean and percentiles used by series and statistics: exact where the numbers fit, and no Infinity where they overflow. */
import { describe, expect, it } from 'vitest'
import { meanOf } from '../src/query-index/mean.js'
import { percentile } from '../src/query-index/statistics.js'

describe('meanOf', () => {
  it('is null for no values and the plain mean otherwise', () => {
    expect(meanOf([])).toBeNull()
    expect(meanOf([1, 2, 3, 4])).toBe(2.5)
    expect(meanOf([0.1, 0.2, 0.3])).toBe((0.1 + 0.2 + 0.3) / 3)
  })

  it('stays finite where the sum overflows (values near the largest double)', () => {
    expect(meanOf([1e308, 1e308])).toBe(1e308)
    expect(meanOf([1.7e308, 1.7e308, -1.7e308])).toBeCloseTo(1.7e308 / 3, -300)
    expect(Number.isFinite(meanOf([Number.MAX_VALUE, Number.MAX_VALUE, Number.MAX_VALUE]))).toBe(true)
  })
})

describe('percentile', () => {
  it('interpolates between neighbours, and stays finite where their difference overflows', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(percentile([1, 2, 3, 4], 0)).toBe(1)
    expect(percentile([1, 2, 3, 4], 1)).toBe(4)
    expect(percentile([-1.7e308, 1.7e308], 0.5)).toBe(0)
    expect(Number.isFinite(percentile([-1.7e308, 1.7e308], 0.1))).toBe(true)
  })
})
