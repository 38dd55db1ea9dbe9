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

export async function writeResults (figures: readonly Figure[], dir = 'bench-results'): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'latest.json')
  const doc = { date: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}`, figures }
  await writeFile(file, JSON.stringify(doc, null, 2) + '\n')
  return file
}
