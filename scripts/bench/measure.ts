/** Small helpers for benchmarks: timed runs, medians, and the results table. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface Figure {
  readonly section: string
  readonly name: string
  readonly value: number
  readonly unit: string
  /** Ratio against another figure of the same run, when the figure has a baseline. */
  readonly ratio?: { readonly against: string, readonly value: number, readonly target?: number }
}

/** Runs `fn` (which does `count` operations) `repeats` (3) times; returns the median rate in operations per second. */
export async function rate (count: number, fn: () => Promise<void> | void, repeats = 3): Promise<number> {
  const rates: number[] = []
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint()
    await fn()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    rates.push(count / seconds)
  }
  return median(rates)
}

/**
 * Runs several measurements in turns — a, b, a, b, … — `repeats` (5) rounds
 * after `warmups` (1) untimed ones, and returns each one's median rate.
 * A ratio between two figures is only as good as the conditions both were
 * measured under: on a shared machine other processes' load comes and goes
 * within seconds, and measuring one figure some seconds after the other put
 * a different load on either side of a ratio. Warm-up rounds let the JIT,
 * and the workers of a pool, reach their steady state before timing.
 */
export async function interleavedRates (
  count: number, fns: ReadonlyArray<() => Promise<void> | void>, opts: { repeats?: number, warmups?: number } = {}
): Promise<number[]> {
  const { repeats = 5, warmups = 1 } = opts
  const rates = fns.map((): number[] => [])
  for (let round = 0; round < warmups + repeats; round++) {
    for (let i = 0; i < fns.length; i++) {
      const start = process.hrtime.bigint()
      await fns[i]!()
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (round >= warmups) rates[i]!.push(count / seconds)
    }
  }
  return rates.map(median)
}

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function fmt (n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)
}

export function printTable (figures: readonly Figure[]): void {
  const rows = figures.map((f) => [
    f.section, f.name, `${fmt(f.value)} ${f.unit}`,
    f.ratio === undefined ? '' : `${f.ratio.value.toFixed(2)}x ${f.ratio.against}`,
    f.ratio?.target === undefined ? '' : `${f.ratio.value >= f.ratio.target ? 'meets' : 'MISSES'} >= ${f.ratio.target}x`
  ])
  const header = ['section', 'figure', 'value', 'ratio', 'target']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const r of rows) console.log(line(r))
}

export async function writeResults (figures: readonly Figure[], name = 'latest.json', dir = 'bench-results'): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, name)
  const doc = { date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, figures }
  await writeFile(file, JSON.stringify(doc, null, 2) + '\n')
  return file
}
