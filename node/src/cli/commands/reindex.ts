/**
 * `healthchain reindex`: drops a stopped node's query index and builds it
 * again from the chains its store holds, with a progress bar on stderr. The
 * index is derived data (never a source of truth), so this is always safe;
 * a running node holds the store's lock, so stop it first.
 */
import { join } from 'node:path'
import type { Command } from 'commander'
import { INDEX_FILE_NAME, QueryIndex, type RebuildProgress, type RebuildResult } from '../../query-index/index.js'
import type { CliContext } from '../context.js'
import { CliError } from '../errors.js'
import { Output } from '../output.js'
import { openStoppedLedger } from '../stopped-node.js'
import { examples, pathArg, withJson } from '../options.js'

const BAR_WIDTH = 30

export function registerReindex (program: Command, ctx: CliContext): void {
  withJson(program.command('reindex'))
    .summary('rebuild a stopped node\'s query index from its chains')
    .description('Delete the query index of a stopped node (index/index.sqlite) and rebuild it from every chain in its store, showing progress. The index holds plain segments only and is derived data: rebuilding loses nothing.')
    .requiredOption('--dir <path>', 'the node\'s data directory (the node stopped)', pathArg)
    .addHelpText('after', examples('healthchain reindex --dir ./.healthchain-dev/hospital-a'))
    .action(async (opts: { dir: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { ledger, layout } = await openStoppedLedger(opts.dir, 'stop it first (its index follows its chains by itself)')
      let result: RebuildResult
      try {
        const path = join(layout.index, INDEX_FILE_NAME)
        await QueryIndex.destroy(path)
        const index = QueryIndex.open(path)
        try {
          const bar = progressBar((line) => { out.progress(line) })
          result = await index.rebuild(ledger, bar)
        } finally {
          await index.close()
        }
      } finally {
        await ledger.close()
      }
      out.result({ ...result, failed: result.failed.map((f) => ({ user: f.user, error: f.error instanceof Error ? f.error.message : String(f.error) })) }, [
        `index rebuilt: ${result.chainsDone} chains, ${result.entriesDone} entries, ${result.rows} rows in ${(result.ms / 1000).toFixed(1)} s`,
        ...result.failed.map((f) => `  not indexed: ${f.user} (${f.error instanceof Error ? f.error.message : String(f.error)})`)
      ])
      if (result.failed.length > 0) throw new CliError('REINDEX_INCOMPLETE', `${result.failed.length} chain(s) could not be indexed; they are retried when the node next starts`)
    })
}

/** A text progress bar, one line per tenth of the chains (and the last), so it reads the same in a terminal and in a log. */
export function progressBar (write: (line: string) => void): (progress: RebuildProgress) => void {
  let shownTenth = -1
  return (p) => {
    const fraction = p.chainsTotal === 0 ? 1 : p.chainsDone / p.chainsTotal
    const tenth = Math.floor(fraction * 10)
    if (tenth === shownTenth) return
    shownTenth = tenth
    const filled = Math.round(fraction * BAR_WIDTH)
    write(`reindex [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.round(fraction * 100)}%  ${p.chainsDone}/${p.chainsTotal} chains, ${p.entriesDone} entries`)
  }
}
