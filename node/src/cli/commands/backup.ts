/**
 * `healthchain backup` and `healthchain restore` (node/src/backup/): a
 * consistent copy of a node — keys, store, audit log — in one owner-only
 * file, and bringing it up in a fresh data directory on purpose. A running
 * node makes the backup itself, through the control socket in its data
 * directory; a stopped one is read directly.
 */
import type { Command } from 'commander'
import { equal } from '@healthchain/core'
import { createBackup, type BackupProgress } from '../../backup/create.js'
import { requestBackup } from '../../backup/control-client.js'
import type { BackupSummary } from '../../backup/control-socket.js'
import { checkBackup, restoreBackup, verifyRestored } from '../../backup/restore.js'
import type { BackupManifest } from '../../backup/archive.js'
import { readInstitutionGenerations } from '../../node-keys.js'
import type { CliContext } from '../context.js'
import { CliError } from '../errors.js'
import { Output } from '../output.js'
import { openStoppedLedger } from '../stopped-node.js'
import { examples, pathArg, withJson } from '../options.js'

/** One progress line per tenth of the work (and the last), as the reindex bar does. */
function tenths (write: (line: string) => void, what: string): (done: number, total: number) => void {
  let shown = -1
  return (done, total) => {
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10)
    if (tenth === shown) return
    shown = tenth
    write(`${what} ${done}/${total}`)
  }
}

/** A stopped node's backup: its institution and role are read from its registry copy (the institution its keys are). */
async function backupStopped (dir: string, out: string, onProgress: (p: BackupProgress) => void): Promise<BackupManifest> {
  const { ledger, layout } = await openStoppedLedger(dir, 'it is running but its control socket does not answer')
  try {
    const generations = await readInstitutionGenerations(layout.keys)
    const state = ledger.registry.state
    const own = state.institutions().find((i) => state.historyOf(i.id).some((r) => generations.some((g) => equal(g.sign.publicKey, r.sign))))
    if (own === undefined) throw new CliError('NOT_A_DATA_DIR', `the registry in ${dir} does not list this node's keys (not admitted yet?)`)
    return await createBackup({ ledger, layout, node: own.id, role: own.role, institution: own.id }, out, onProgress)
  } finally {
    await ledger.close()
  }
}

export function registerBackup (program: Command, ctx: CliContext): void {
  withJson(program.command('backup'))
    .summary('write a consistent backup of a node (running or stopped) to one file')
    .description('Write a backup of the node whose data directory is --dir to --out: its keys, its store (registry, chains, audit log) and a manifest ' +
      '(format, node, time, chains and their lengths, a SHA-256 of every part). A running node makes it itself (through its control socket, ' +
      'holding writes for the moment its store is staged); a stopped node is read directly. The query index is not included: it is rebuilt at ' +
      'start. The file (0600) holds the node\'s secret keys: keep it like them.')
    .requiredOption('--dir <path>', 'the node\'s data directory', pathArg)
    .requiredOption('--out <file>', 'the backup file to write (must not exist)', pathArg)
    .addHelpText('after', examples('healthchain backup --dir /var/lib/healthchain --out /backups/hospital-a-2026-12-06.hcbackup'))
    .action(async (opts: { dir: string, out: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const snapshot = tenths((line) => { out.progress(line) }, 'backup: staged files')
      const write = tenths((line) => { out.progress(line) }, 'backup: written parts')
      const onProgress = (p: BackupProgress): void => { (p.stage === 'snapshot' ? snapshot : write)(p.done, p.total) }
      const running = await requestBackup(opts.dir, opts.out, onProgress)
      let summary: BackupSummary
      if (running !== undefined) summary = running
      else {
        const m = await backupStopped(opts.dir, opts.out, onProgress)
        summary = { out: opts.out, node: m.node, createdAt: m.createdAt, chains: m.chains.length, parts: m.parts.length }
      }
      out.result({ ...summary, running: running !== undefined }, [
        `backup of ${summary.node} (${running === undefined ? 'stopped' : 'running'}) written to ${summary.out}`,
        `  taken ${summary.createdAt}: ${summary.chains} chains, ${summary.parts} files`,
        '  it holds the node\'s secret keys: store it as you store them'
      ])
    })

  withJson(program.command('restore'))
    .summary('bring a node up from a backup in a fresh data directory')
    .description('Check a backup (every part\'s hash, the whole file\'s checksum, its format) and restore it into --data-dir, which must be new or ' +
      'empty; then open the restored store and verify every chain. Nothing is written unless the whole file checks. The restored node is ' +
      'the backed-up node: start it with its config, and it fetches back from its peers what its chains gained after the backup. ' +
      'With --check, only the file is checked.')
    .requiredOption('--from <file>', 'the backup file', pathArg)
    .option('--data-dir <path>', 'the new data directory (absent or empty)', pathArg)
    .option('--check', 'only check the backup file; restore nothing')
    .addHelpText('after', examples(
      'healthchain restore --from /backups/hospital-a-2026-12-06.hcbackup --data-dir /var/lib/healthchain',
      'healthchain restore --from /backups/hospital-a-2026-12-06.hcbackup --check'
    ))
    .action(async (opts: { from: string, dataDir?: string, check?: boolean, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      if (opts.check === true) {
        const manifest = await checkBackup(opts.from)
        out.result({ node: manifest.node, createdAt: manifest.createdAt, chains: manifest.chains.length, parts: manifest.parts.length }, [
          `${opts.from}: a complete backup of ${manifest.node} taken ${manifest.createdAt} (${manifest.chains.length} chains, ${manifest.parts.length} files)`
        ])
        return
      }
      if (opts.dataDir === undefined) throw new CliError('USAGE', 'restore needs --data-dir (or --check)')
      const manifest = await restoreBackup(opts.from, opts.dataDir, tenths((line) => { out.progress(line) }, 'restore: written parts'))
      const check = await verifyRestored(opts.dataDir, manifest, tenths((line) => { out.progress(line) }, 'restore: verified chains'))
      out.result({ node: manifest.node, createdAt: manifest.createdAt, dataDir: opts.dataDir, ...check }, [
        `restored ${manifest.node} (backup taken ${manifest.createdAt}) into ${opts.dataDir}`,
        `  ${check.chains} chains verified: ${check.valid} valid${check.problems.length === 0 ? '' : `, ${check.problems.length} with problems`}`,
        ...check.problems.map((p) => `  problem: ${p.user}: ${p.problem}`),
        '  start the node with its config; it fetches back from its peers what its chains gained after the backup.',
        '  Let it reach them (healthchain status: replication lag 0) before it takes writes again.'
      ])
      if (check.problems.length > 0) throw new CliError('CHAIN_INVALID', `${check.problems.length} restored chain(s) do not verify (see above)`)
    })
}
