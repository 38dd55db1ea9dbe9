/**
 * `healthchain custody take-over`: staff of an examiner take a user's chain
 * over when governance reassigned its suspended custodian's chains to their
 * institution and the user did not move first (`healthchain reassign`; the
 * notice period must be over). The node writes the migrate itself, as the
 * institution, and becomes the chain's custodian; the chain rules accept it
 * only under that reassignment, from its date on.
 */
import type { Command } from 'commander'
import type { UserId } from '@healthchain/core'
import { continuedReplySchema } from '../../api/index.js'
import { ApiClient, loginWithApiKey } from '../api-client.js'
import type { CliContext } from '../context.js'
import { Output } from '../output.js'
import { apiKeyOption, examples, urlArg, userIdArg, withJson } from '../options.js'
import { TRANSFER_TIMEOUT_MS } from '../user-custody.js'

export function registerCustody (program: Command, ctx: CliContext): void {
  const custody = program.command('custody').helpCommand(false)
    .description('chains changing custodian on the institution\'s side (a user moves their own chain with `healthchain user transfer`)')

  withJson(custody.command('take-over'))
    .summary('take over a chain governance reassigned to this examiner')
    .description('Take a user\'s chain over at this examiner\'s node when governance reassigned the chain\'s suspended custodian to it (`healthchain reassign`) and the notice period is over: the node fetches the chain from its peers if it lacks blocks, writes and signs the migrate as the institution, and becomes the custodian.')
    .requiredOption('--user <id>', 'the user whose chain to take over', userIdArg)
    .requiredOption('--api <url>', 'this examiner\'s node API URL', urlArg)
    .addOption(apiKeyOption('a staff API key of that node').makeOptionMandatory())
    .addHelpText('after', examples('healthchain custody take-over --user <user id> --api http://127.0.0.1:7010 --api-key hck_…'))
    .action(async (opts: { user: UserId, api: string, apiKey: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { client } = await loginWithApiKey(new ApiClient(opts.api, { timeoutMs: TRANSFER_TIMEOUT_MS }), opts.apiKey)
      out.progress(`asking ${opts.api} to take the chain over (it first fetches from its peers any block it lacks)…`)
      const moved = await client.request('POST', `/v1/users/${opts.user}/continuation`, continuedReplySchema, { body: { reassigned: true } })
      out.result(moved, [
        `${moved.custodian} took ${moved.userId}'s chain over: it continues under key ${moved.chainKey}`,
        `the chain ${moved.from} closed at ${moved.length} entries`
      ])
    })
}
