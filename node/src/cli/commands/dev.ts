/**
 * `healthchain dev` (what `npm start` runs): a local consortium on loopback
 * — hospital-a and hospital-b (examiners), agency (inquirer), regulator —
 * in one process, with its data in one directory, reopened on the next
 * run. Set-up in dev/setup.ts, the daemons in dev/network.ts, the files in
 * dev/layout.ts.
 */
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { DEFAULT_BASE_PORT, DEFAULT_DEV_DIR, MAX_BASE_PORT, MIN_BASE_PORT, devPaths, devPorts, readDevManifest, writeDevManifest, type DevManifest } from '../dev/layout.js'
import { CliError } from '../errors.js'
import { StartCancelled, assertDevPortsFree, consoleHint, consoleUrlOf, startDevNetwork } from '../dev/network.js'
import { openOrCreateDevNetwork } from '../dev/setup.js'
import { Output, table } from '../output.js'
import { examples, intArg, pathArg, withJson } from '../options.js'

export function registerDev (program: Command, ctx: CliContext): void {
  withJson(program.command('dev'))
    .summary('run a local four-node network on 127.0.0.1 (what `npm start` runs)')
    .description('Run a local development network in this process: hospital-a and hospital-b (examiners), agency (inquirer) and regulator, on 127.0.0.1, with their data in --dir. The first run creates the consortium and one staff API key per node; later runs reopen the same data. When every node is ready it writes <dir>/dev.json (each node\'s name, role, API URL, console URL, peer id and API key; owner-only) and prints the same as a table. Ctrl-C (SIGINT) or SIGTERM stops every node cleanly. Ports: API base+0..3, libp2p TCP base+10..13, WebSockets base+20..23.')
    .option('--dir <path>', 'the network\'s directory', pathArg, resolve(DEFAULT_DEV_DIR))
    .option('--base-port <port>', `first port of the network's range (default ${DEFAULT_BASE_PORT}; fixed when the network is created)`, intArg(MIN_BASE_PORT, MAX_BASE_PORT))
    .option('--fresh', 'delete the network\'s data first and create it anew')
    .addHelpText('after', examples(
      'npm start                                   # = healthchain dev',
      'healthchain dev --dir ./other-network --base-port 17000',
      'healthchain dev --fresh',
      'npm run demo                                # in another terminal, while it runs'
    ))
    .action(async (opts: { dir: string, basePort?: number, fresh?: boolean, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const paths = devPaths(opts.dir)
      let stopRequested = false
      const stopped = ctx.untilStopped().then((signal) => { stopRequested = true; return signal })
      const progress = (line: string): void => { out.progress(line) }

      await assertNotRunning(paths.root)
      const { state, reopened } = await openOrCreateDevNetwork(paths, {
        basePort: opts.basePort,
        defaultBasePort: DEFAULT_BASE_PORT,
        fresh: opts.fresh === true,
        beforeCreate: async (basePort) => { await assertDevPortsFree(paths, basePort) }
      }, progress)
      progress(`${reopened ? 'reopening' : 'starting'} the dev network in ${paths.root} (ports ${state.basePort}-${state.basePort + 23})`)
      let network
      try {
        network = await startDevNetwork(paths, state, { progress, stopRequested: () => stopRequested })
      } catch (err) {
        if (err instanceof StartCancelled) {
          progress('stopped before the network was ready')
          return
        }
        throw err
      }

      const manifest: DevManifest = {
        v: 1,
        kind: 'healthchain-dev',
        pid: process.pid,
        startedAt: new Date().toISOString(),
        registryKey: state.registryKey,
        basePort: state.basePort,
        nodes: network.nodes.map((n, i) => ({
          name: n.name,
          role: n.role as DevManifest['nodes'][number]['role'],
          api: n.daemon.apiUrl,
          console: consoleUrlOf(n.daemon),
          peerId: n.daemon.network.peerId,
          apiKey: n.apiKey,
          p2p: `/ip4/127.0.0.1/tcp/${devPorts(state.basePort, i).p2p}/p2p/${n.daemon.network.peerId}`
        }))
      }
      await writeDevManifest(paths, manifest)
      out.result(manifest, [
        '',
        `healthchain dev network ready (${reopened ? 'reopened' : 'new'}): ${paths.root}`,
        '',
        table(['name', 'role', 'api', 'console', 'peerId', 'apiKey'], manifest.nodes.map((n) => [n.name, n.role, n.api, n.console, n.peerId, n.apiKey])),
        '',
        consoleHint(network.nodes),
        `The same is in ${paths.manifest} (owner-only: it holds the API keys).`,
        'Next, in another terminal:  npm run demo' + (paths.root === resolve(DEFAULT_DEV_DIR) ? '' : ` -- --dir ${paths.root}`),
        `                       or:  npm run healthchain -- status --api ${manifest.nodes[0]!.api}`,
        'Stop with Ctrl-C: the data stays, and the next start reopens it.'
      ])

      const signal = await stopped
      progress(`${signal}: stopping the dev network`)
      await network.stop()
      await rm(paths.manifest, { force: true })
      progress(`stopped; data kept in ${paths.root}`)
    })
}

/**
 * ALREADY_RUNNING when dev.json names a live process other than this one: the
 * same network started twice would only fail later on its own ports. A
 * dev.json left by a process that died is stale and ignored.
 */
async function assertNotRunning (root: string): Promise<void> {
  const manifest = await readDevManifest(root).catch(() => undefined)
  if (manifest === undefined || manifest.pid === process.pid || !processAlive(manifest.pid)) return
  throw new CliError('ALREADY_RUNNING', `the dev network in ${root} is already running (pid ${manifest.pid}, since ${manifest.startedAt}): use it (dev.json lists its nodes and API keys), or stop it first with Ctrl-C in its terminal or \`kill -INT ${manifest.pid}\``)
}

function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
