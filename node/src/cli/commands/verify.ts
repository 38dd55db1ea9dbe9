/**
 * `healthchain verify`: a chain's full integrity report, offline, from a
 * stopped node's store (Hypercore tree and signed head, every author
 * signature, roles against the registry, consent, erasures). Nothing is
 * written. A running node holds its store's lock: ask it over HTTP instead.
 */
import type { Command } from 'commander'
import type { UserId } from '@healthchain/core'
import type { ChainReport } from '@healthchain/ledger'
import type { CliContext } from '../context.js'
import { CliError } from '../errors.js'
import { Output } from '../output.js'
import { openStoppedLedger } from '../stopped-node.js'
import { examples, pathArg, userIdArg, withJson } from '../options.js'

export function registerVerify (program: Command, ctx: CliContext): void {
  withJson(program.command('verify'))
    .summary('verify a user\'s chain offline in a stopped node\'s data directory')
    .description('Verify a user\'s chain offline in a stopped node\'s data directory and print the report; exit 1 (CHAIN_INVALID) if it does not verify. For a running node use GET /v1/users/{id}/verify.')
    .requiredOption('--dir <path>', 'the node\'s data directory (the node stopped)', pathArg)
    .requiredOption('--user <id>', 'the user whose chain to verify', userIdArg)
    .addHelpText('after', examples('healthchain verify --dir ./.healthchain-dev/regulator --user <user id>'))
    .action(async (opts: { dir: string, user: UserId, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { ledger } = await openStoppedLedger(opts.dir, `ask it instead, GET /v1/users/${opts.user}/verify (any role that may read the chain)`)
      let report: ChainReport
      try {
        out.progress(`verifying the chain of ${opts.user}…`)
        report = await ledger.verify(opts.user)
      } finally {
        await ledger.close()
      }
      out.result(report, [
        `chain ${report.chainKey} of ${report.userId ?? opts.user}: ${report.valid ? 'valid' : 'INVALID'}`,
        `  ${report.verified} of ${report.length} entries verified; tree ${report.tree.ok ? `ok (${report.tree.blocksChecked} blocks checked)` : `BROKEN: ${report.tree.problem ?? ''}`}`,
        `  erased: [${report.erased.join(', ')}]  missing: [${report.missing.join(', ')}]`,
        ...report.problems.map((p) => `  problem${p.seq === undefined ? '' : ` at #${p.seq}`}: ${p.code} ${p.message}`)
      ])
      if (!report.valid) throw new CliError('CHAIN_INVALID', `the chain of ${opts.user} does not verify (${report.problems.map((p) => p.code).join(', ') || 'see the report'})`)
    })
}
