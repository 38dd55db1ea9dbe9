/** `healthchain audit`: the tail of a running node's audit log, for its staff (GET /v1/audit). */
import type { Command } from 'commander'
import type { AuditReply } from '../../api/index.js'
import { ApiClient, loginWithApiKey } from '../api-client.js'
import type { CliContext } from '../context.js'
import { Output, table } from '../output.js'
import { apiKeyOption, examples, intArg, urlArg, withJson } from '../options.js'

export function registerAudit (program: Command, ctx: CliContext): void {
  withJson(program.command('audit'))
    .summary('the tail of a running node\'s audit log (staff)')
    .description('Show a running node\'s audit log: every login attempt (granted or refused) and every request to a guarded route, one line each (who, what, from where, result, refusal code); repeated refusals of unauthenticated callers from one source are counted on one line (x<count> since <time>). Staff of that node only; reading it is itself logged.')
    .requiredOption('--api <url>', 'the node\'s API URL', urlArg)
    .addOption(apiKeyOption('a staff API key of that node').makeOptionMandatory())
    .option('--limit <n>', 'how many lines (the last ones unless --start)', intArg(1, 1000), 20)
    .option('--start <n>', 'first position to show', intArg(0, Number.MAX_SAFE_INTEGER))
    .addHelpText('after', examples('healthchain audit --api http://127.0.0.1:7000 --api-key hck_… --limit 50'))
    .action(async (opts: { api: string, apiKey: string, limit: number, start?: number, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const { client } = await loginWithApiKey(new ApiClient(opts.api), opts.apiKey)
      const audit = await client.audit({ limit: opts.limit, ...(opts.start === undefined ? {} : { start: opts.start }) })
      out.result(audit, [`audit log: ${audit.length} lines; showing ${audit.lines.length}`, renderAudit(audit)])
    })
}

export function renderAudit (audit: AuditReply): string {
  return table(['#', 'time', 'actor', 'action', 'target', 'from', 'result'], audit.lines.map((l) => [
    String(l.seq), l.time, `${l.actor}${l.role === undefined ? '' : ` (${l.role})`}`, l.action, l.target ?? '', l.from,
    [l.result, l.code, l.count === undefined ? undefined : `x${l.count} since ${l.since ?? '?'}`].filter((part) => part !== undefined).join(' ')
  ]))
}
