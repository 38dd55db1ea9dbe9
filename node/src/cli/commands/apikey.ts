/**
 * `healthchain apikey create | list | revoke`: staff API keys in a node's
 * data directory (<dir>/keys/api-keys.json). Safe while the node runs: the
 * daemon re-reads the file when it changes, so a new key works at once and
 * a revoked key's sessions end at their next request.
 */
import { existsSync } from 'node:fs'
import { Option, type Command } from 'commander'
import type { InstitutionRole } from '@healthchain/core'
import { ApiKeyStore, type ApiKeyRecord } from '../../auth/api-keys.js'
import { loadConfig } from '../../config.js'
import { dataDirLayout } from '../../data-dir.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { Output, table } from '../output.js'
import { examples, pathArg, roleArg, withJson } from '../options.js'

interface WhereOptions {
  dir?: string
  config?: string
  json?: boolean
}

function withWhere (command: Command): Command {
  return withJson(command)
    .addOption(new Option('--dir <path>', 'the node\'s data directory').argParser(pathArg).conflicts('config'))
    .option('--config <file>', 'instead of --dir: the node\'s config file (its dataDir and role)', pathArg)
}

/** The key store of the node named by --dir or --config, and the node's role when the config gives it. */
async function storeOf (opts: WhereOptions, ctx: CliContext): Promise<{ store: ApiKeyStore, role?: InstitutionRole }> {
  let dir: string
  let role: InstitutionRole | undefined
  if (opts.config !== undefined) {
    const config = await loadConfig(opts.config, ctx.env)
    dir = config.dataDir
    role = config.role
  } else if (opts.dir !== undefined) {
    dir = opts.dir
  } else {
    throw usageError('say which node: --dir <data dir> or --config <file>')
  }
  const layout = dataDirLayout(dir)
  if (!existsSync(layout.keys)) throw new CliError('NOT_A_DATA_DIR', `${dir} is not a node data directory (no keys/): create it with \`healthchain keys create --dir ${dir}\``)
  return { store: await ApiKeyStore.open(layout.apiKeysFile), ...(role === undefined ? {} : { role }) }
}

function rowOf (k: ApiKeyRecord): string[] {
  return [k.id, k.role, k.revokedAt === undefined ? 'active' : `revoked ${k.revokedAt}`, k.createdAt, k.label]
}

export function registerApiKey (program: Command, ctx: CliContext): void {
  const apikey = program.command('apikey').helpCommand(false).description('staff API keys of a node (work while the node runs)')

  withWhere(apikey.command('create'))
    .summary('create a staff API key (shown once)')
    .description('Create a staff API key bound to the node\'s role. The key is printed once and never stored (only its hash is): give it to the staff system now.')
    .option('--role <role>', 'the node\'s role: examiner, inquirer or regulator (taken from --config when given)', roleArg)
    .option('--label <text>', 'who or what the key is for, shown in listings', 'staff')
    .addHelpText('after', examples(
      'healthchain apikey create --dir ./hospital-a --role examiner --label "front desk"',
      'healthchain apikey create --config ./hospital-a/config.json --json'
    ))
    .action(async (opts: WhereOptions & { role?: InstitutionRole, label: string }) => {
      const out = new Output(ctx.io, opts)
      const { store, role: configRole } = await storeOf(opts, ctx)
      const role = opts.role ?? configRole
      if (role === undefined) throw usageError('say the node\'s role: --role <role> (or use --config)')
      if (configRole !== undefined && opts.role !== undefined && opts.role !== configRole) {
        throw usageError(`--role ${opts.role} is not the node's role (${configRole}): the node would refuse the key (KEY_ROLE_MISMATCH)`)
      }
      const { record, apiKey } = await store.create(opts.label, role)
      out.result({ ...record, apiKey }, [
        `API key ${record.id} (${record.role}, "${record.label}"): shown once, store it now:`,
        '',
        `  ${apiKey}`,
        '',
        `revoke it with: healthchain apikey revoke ${opts.config !== undefined ? `--config ${opts.config}` : `--dir ${opts.dir!}`} --id ${record.id}`
      ])
    })

  withWhere(apikey.command('list'))
    .summary('list API keys (no secrets)')
    .description('List the node\'s API keys, active and revoked (ids, roles, labels; never a secret).')
    .addHelpText('after', examples('healthchain apikey list --dir ./hospital-a'))
    .action(async (opts: WhereOptions) => {
      const out = new Output(ctx.io, opts)
      const { store } = await storeOf(opts, ctx)
      const keys = await store.list()
      out.result({ keys }, keys.length === 0 ? 'no API keys' : table(['id', 'role', 'status', 'created', 'label'], keys.map(rowOf)))
    })

  withWhere(apikey.command('revoke'))
    .summary('revoke an API key')
    .description('Revoke an API key by id: its logins are refused (REVOKED_KEY) and its live sessions end at their next request.')
    .requiredOption('--id <id>', 'the key\'s id (16 hex characters, from `apikey list`)')
    .addHelpText('after', examples('healthchain apikey revoke --dir ./hospital-a --id 3f9c2a1b7d6e5f40'))
    .action(async (opts: WhereOptions & { id: string }) => {
      const out = new Output(ctx.io, opts)
      const { store } = await storeOf(opts, ctx)
      const record = await store.revoke(opts.id)
      out.result(record, `revoked API key ${record.id} ("${record.label}") at ${record.revokedAt ?? ''}`)
    })
}
