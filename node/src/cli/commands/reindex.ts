/**
 * `healthchain reindex`: drops a stopped node's query index and builds it
 * again from the chains its store holds, with a progress bar on stderr. The
 * index is derived data (never a source of truth), so this is always safe;
 * a running node holds the store's lock, so stop it first. With --config the
 * index is the one the config names: the SQLite file in the data directory,
 * or the PostgreSQL database (its tables emptied and filled again).
 */
import { join } from 'node:path'
import { Option, type Command } from 'commander'
import { loadConfig } from '../../config.js'
import { INDEX_FILE_NAME, QueryIndex, openQueryIndex, type IndexConfig, type RebuildProgress, type RebuildResult } from '../../query-index/index.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { Output } from '../output.js'
import { openStoppedLedger } from '../stopped-node.js'
import { examples, pathArg, withJson } from '../options.js'

const BAR_WIDTH = 30

interface ReindexOptions {
  dir?: string
  config?: string
  json?: boolean
}

/** The data directory and the index to rebuild, from --dir (SQLite) or --config (whichever the config names). */
async function targetOf (opts: ReindexOptions, ctx: CliContext): Promise<{ dir: string, index: IndexConfig }> {
  if (opts.config !== undefined) {
    const config = await loadConfig(opts.config, ctx.env)
    return { dir: config.dataDir, index: config.index }
  }
  if (opts.dir !== undefined) return { dir: opts.dir, index: { kind: 'sqlite' } }
  throw usageError('say which node: --dir <data dir> or --config <file>')
}

export function registerReindex (program: Command, ctx: CliContext): void {
  withJson(program.command('reindex'))
    .summary('rebuild a stopped node\'s query index from its chains')
    .description('Delete the query index of a stopped node and rebuild it from every chain in its store, showing progress. With --dir, the SQLite ' +
      'index in the data directory (index/index.sqlite); with --config, the index the config names (SQLite, or its PostgreSQL database, whose ' +
      'tables are emptied and filled again). The index holds plain segments only and is derived data: rebuilding loses nothing.')
    .addOption(new Option('--dir <path>', 'the node\'s data directory (the node stopped)').argParser(pathArg).conflicts('config'))
    .option('--config <file>', 'instead of --dir: the node\'s config file (its dataDir and its index setting)', pathArg)
    .addHelpText('after', examples('healthchain reindex --dir ./.healthchain-dev/hospital-a', 'healthchain reindex --config ./agency/config.json'))
    .action(async (opts: ReindexOptions) => {
      const out = new Output(ctx.io, opts)
      const target = await targetOf(opts, ctx)
      const { ledger, layout } = await openStoppedLedger(target.dir, 'stop it first (its index follows its chains by itself)')
      let result: RebuildResult
      try {
        if (target.index.kind === 'sqlite') await QueryIndex.destroy(join(layout.index, INDEX_FILE_NAME))
        const index = await openQueryIndex(target.index, layout.index)
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
        `index rebuilt (${target.index.kind}): ${result.chainsDone} chains, ${result.entriesDone} entries, ${result.rows} rows in ${(result.ms / 1000).toFixed(1)} s`,
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
