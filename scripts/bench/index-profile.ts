/**
 * Profiling aid for the query index's rebuild (not part of `npm run bench`):
 *
 *   tsx scripts/bench/index-profile.ts DIR [USERS DAYS] [--rounds N] [--only-rebuild]
 *   node --conditions=@healthchain/source --cpu-prof --import tsx scripts/bench/index-profile.ts DIR …
 *
 * Generates the data set into DIR/store once (kept for the next run: a
 * profile needs many runs over the same chains), then times raw chain reads
 * and rebuilds in turns, as index-bench.ts does, one line per round.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import type { InstitutionId } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { QueryIndex } from '@healthchain/node'
import { generateDataset } from '@healthchain/node/testing'

const [given, users = '60', days = '60'] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--rounds')
if (given === undefined) throw new Error('usage: index-profile.ts DIR [USERS DAYS] [--rounds N] [--only-rebuild]')
const dir: string = given
const roundsAt = process.argv.indexOf('--rounds')
const rounds = roundsAt === -1 ? 5 : Number(process.argv[roundsAt + 1])
const only = process.argv.includes('--only-rebuild')

async function main (): Promise<void> {
  const store = join(dir, 'store')
  if (!existsSync(store)) {
    const data = await generateDataset({ dir: store, users: Number(users), days: Number(days), seed: 'bench', keepEntries: false })
    await data.ledger.close()
  }
  const ledger = await Ledger.open({ dir: store, institution: 'hospital-a' as InstitutionId, crypto })
  const index = QueryIndex.open(join(dir, 'index.sqlite'))
  try {
    const list = ledger.users()
    for (let r = 0; r < rounds; r++) {
      let t = process.hrtime.bigint()
      let n = 0
      if (!only) for (const user of list) n += (await (await ledger.chain(user)).read({ start: 0 })).length
      const readMs = Number(process.hrtime.bigint() - t) / 1e6
      t = process.hrtime.bigint()
      const result = await index.rebuild(ledger)
      const buildMs = Number(process.hrtime.bigint() - t) / 1e6
      console.log(`round ${r}: read ${n} in ${readMs.toFixed(0)} ms, rebuild ${result.entriesDone} (${result.rows} rows) in ${buildMs.toFixed(0)} ms, ratio ${(readMs / buildMs).toFixed(2)}`)
    }
  } finally {
    await index.close()
    await ledger.close()
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
