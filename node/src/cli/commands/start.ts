/** `healthchain start`: run one node from its config until SIGINT or SIGTERM. */
import { Option, type Command } from 'commander'
import { LOG_LEVELS, loadConfig, type LogLevel } from '../../config.js'
import type { CliContext } from '../context.js'
import { CliError } from '../errors.js'
import { Output } from '../output.js'
import { examples, pathArg, withJson } from '../options.js'
import { startDaemonOrPortError } from '../ports.js'

function quorumArg (value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliError('USAGE', `--catch-up-quorum: expected a whole number, 1 or more, got ${value}`)
  return n
}

export function registerStart (program: Command, ctx: CliContext): void {
  withJson(program.command('start'))
    .summary('run a node from its config file')
    .description('Start a node: read its config file (HEALTHCHAIN_* environment variables override fields; see node/README.md), open its data directory, join the network, serve the HTTP API. Prints one ready line (with --json: one document) once the API listens; SIGINT or SIGTERM stops it cleanly (API, then network, then storage) and exits 0.')
    .requiredOption('--config <file>', 'the node\'s JSON config file', pathArg)
    .addOption(new Option('--log-level <level>', 'the JSON log\'s level (default: the config\'s logLevel, info)').choices(LOG_LEVELS))
    .option('--catch-up-quorum <n>', 'a node restored from a backup: peers that must compare heads with it before its own chains take writes (default 1)',
      quorumArg)
    .option('--accept-restored-state', 'a node restored from a backup: take writes at once, without catching up with its peers. Only when no peer ' +
      'holds anything newer of its chains: a write at a position a peer holds another block for forks the chain, flagged against the institution')
    .addHelpText('after', examples(
      'healthchain start --config ./hospital-a/config.json',
      'HEALTHCHAIN_API_PORT=9000 healthchain start --config ./hospital-a/config.json --json'
    ))
    .action(async (opts: { config: string, json?: boolean, logLevel?: LogLevel, catchUpQuorum?: number, acceptRestoredState?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const config = await loadConfig(opts.config, ctx.env)
      // Listen for the stop request before starting, so a Ctrl-C during start-up still stops cleanly.
      const stopped = ctx.untilStopped()
      out.progress(`starting ${config.name} (${config.role}), data in ${config.dataDir}`)
      const daemon = await startDaemonOrPortError(config, (port, cause) => new CliError('PORT_IN_USE',
        `${port > 0 ? `port ${port}` : 'a port'} of this node's config is already in use (api.port ${config.api.port}, ` +
        `${config.metrics === undefined ? '' : `metrics.port ${config.metrics.port}, `}p2p.listen ${config.p2p.listen.join(' ')}): stop what uses it or change the config`,
        { cause }), {
        // One JSON object per line on stdout; with --json, stdout holds the ready document alone and the log goes to stderr.
        log: { destination: { write: opts.json === true ? ctx.io.stderr : ctx.io.stdout }, level: opts.logLevel ?? config.logLevel },
        restore: {
          acceptRestoredState: opts.acceptRestoredState === true,
          ...(opts.catchUpQuorum === undefined ? {} : { quorum: opts.catchUpQuorum }),
          onCaughtUp: () => { out.progress(`${config.name}: restored node caught up with its peers; its own chains take writes`) }
        }
      })
      const ready = {
        name: config.name,
        role: config.role,
        api: daemon.apiUrl,
        peerId: daemon.network.peerId,
        addresses: daemon.network.addresses,
        registryKey: Buffer.from(daemon.ledger.registry.key).toString('hex'),
        ...(daemon.metricsServer === undefined ? {} : { metrics: daemon.metricsServer.url })
      }
      out.result(ready, [
        `ready: ${ready.name} (${ready.role})  api ${ready.api}  peer ${ready.peerId}`,
        ...(ready.metrics === undefined ? [] : [`  metrics ${ready.metrics}`]),
        ...ready.addresses.map((a) => `  p2p ${a}`)
      ])
      const hold = daemon.network.catchUp
      if (hold?.isHolding === true) {
        out.progress(`${config.name} was restored from a backup: writes to its own chains are refused (CATCHING_UP) until ${hold.quorum} peer(s) ` +
          'compared heads with it and it fetched back what they hold longer (--accept-restored-state skips this)')
      }
      const signal = await stopped
      out.progress(`${signal}: stopping ${config.name}…`)
      await daemon.stop()
      out.progress(`${config.name} stopped`)
    })
}
