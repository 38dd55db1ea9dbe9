/** `healthchain status`: who a running node is, its peers, and the registry as it has it. */
import type { Command } from 'commander'
import { ApiClient } from '../api-client.js'
import type { StatusReply } from '../../api/index.js'
import type { CliContext } from '../context.js'
import { Output, table } from '../output.js'
import { examples, urlArg, withJson } from '../options.js'

/** A restored node still holding writes to its own chains says where its catch-up stands. */
function catchUpLines (hold: StatusReply['catchUp']): string[] {
  if (hold === null) return []
  return [
    `writes held       restored from a backup: ${hold.peersReconciled} of ${hold.quorum} peer(s) compared heads, ` +
      `${hold.chainsBehind} own chain(s) ${hold.blocksBehind} block(s) behind, being fetched back`
  ]
}

export function registerStatus (program: Command, ctx: CliContext): void {
  withJson(program.command('status'))
    .summary('a running node\'s status and registry')
    .description('Ask a running node how it is (GET /v1/status: name, role, peer id, connected peers, chains held, replication lag, and a restored node\'s catch-up while it holds writes) and which institutions its registry lists (GET /v1/registry). No login needed.')
    .requiredOption('--api <url>', 'the node\'s API URL', urlArg)
    .addHelpText('after', examples('healthchain status --api http://127.0.0.1:7000', 'healthchain status --api http://127.0.0.1:7000 --json'))
    .action(async (opts: { api: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const api = new ApiClient(opts.api)
      const status = await api.status()
      const registry = await api.registry()
      const names = new Map(registry.institutions.filter((i) => i.peer !== null).map((i) => [i.peer!, i.id]))
      const lag = status.replicationLag
      out.result({ ...status, registry }, [
        `${status.name} (${status.role})  api ${api.url}`,
        `peer id           ${status.peerId ?? '(network not started)'}`,
        `connected to      ${status.connectedPeers.length === 0 ? 'no peers' : status.connectedPeers.map((p) => names.get(p) ?? p).join(', ')}`,
        `chains held       ${status.chainsHeld}`,
        `replication lag   ${lag === null ? 'not reported' : `${lag.chainsBehind} chains, ${lag.blocksBehind} blocks behind`}`,
        ...catchUpLines(status.catchUp),
        `registry          ${registry.key.slice(0, 16)}…, ${registry.length} entries${registry.writable ? ' (hosted here)' : ''}`,
        '',
        table(['institution', 'role', 'status', 'peer'], registry.institutions.map((i) => [i.id, i.role, i.status, i.peer ?? '']))
      ])
    })
}
