/**
 * The command line of the data set generator (node/test/helpers/dataset.ts,
 * which says what it writes):
 *
 *   tsx scripts/generate-dataset.ts --dir DIR [--users 1000] [--days 365]
 *       [--seed healthchain] [--start 2025-01-01] [--contacts N] [--near-misses N]
 *       [--radius 25] [--window 15] [--index FILE]
 */
import { pathToFileURL } from 'node:url'
import { generateDataset } from '@healthchain/node/testing'

function argValue (args: string[], name: string): string | undefined {
  const at = args.indexOf(name)
  return at === -1 ? undefined : args[at + 1]
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const dir = argValue(args, '--dir')
  if (dir === undefined) throw new Error('usage: tsx scripts/generate-dataset.ts --dir DIR [--users N] [--days N] [--seed S] [--start YYYY-MM-DD] [--contacts N] [--near-misses N] [--radius M] [--window MIN] [--index FILE]')
  const num = (name: string): number | undefined => {
    const v = argValue(args, name)
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isFinite(n)) throw new Error(`${name}: expected a number`)
    return n
  }
  const startText = argValue(args, '--start')
  const began = Date.now()
  const dataset = await generateDataset({
    dir,
    users: num('--users'),
    days: num('--days'),
    seed: argValue(args, '--seed'),
    start: startText === undefined ? undefined : Date.parse(`${startText}T00:00:00Z`),
    contacts: num('--contacts'),
    nearMisses: num('--near-misses'),
    radiusMetres: num('--radius'),
    windowMinutes: num('--window'),
    keepEntries: false,
    onProgress: (done, total) => { if (done % 10 === 0 || done === total) process.stderr.write(`\rday ${done}/${total}`) }
  })
  process.stderr.write('\n')
  const summary: Record<string, unknown> = {
    users: dataset.users.length,
    days: dataset.days,
    ...dataset.totals,
    contacts: dataset.contacts.length,
    nearMisses: dataset.nearMisses.length,
    radiusMetres: dataset.radiusMetres,
    windowMinutes: dataset.windowMinutes,
    seconds: (Date.now() - began) / 1000
  }
  const indexFile = argValue(args, '--index')
  if (indexFile !== undefined) {
    const { QueryIndex } = await import('../node/src/query-index/index.js')
    const index = QueryIndex.open(indexFile)
    const result = await index.rebuild(dataset.ledger, (p) => { process.stderr.write(`\rindexing chain ${p.chainsDone}/${p.chainsTotal}`) })
    process.stderr.write('\n')
    summary.index = {
      file: indexFile,
      entries: result.entriesDone,
      rows: result.rows,
      seconds: result.ms / 1000,
      entriesPerSecond: Math.round(result.entriesDone / (result.ms / 1000))
    }
    await index.close()
  }
  await dataset.ledger.close()
  console.log(JSON.stringify(summary, null, 2))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}
