/**
 * `healthchain apikey create | list | revoke`: staff API keys in a node's
 * data directory (<dir>/keys/api-keys.json). Safe while the node runs: the
 * daemon re-reads the file when it changes, so a new key works at once and
 * a revoked key's sessions end at their next request. A key's role must be
 * the node's (logins with another are refused), so `create` learns the
 * node's role where it can (node-role.ts) and refuses any other.
 */
import { existsSync } from 'node:fs'
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { InstitutionRole } from '@healthchain/core'
import { ApiKeyStore, type ApiKeyRecord } from '../../auth/api-keys.js'
import { loadConfig } from '../../config.js'
import { dataDirLayout } from '../../data-dir.js'
import type { CliContext } from '../context.js'
import { notADataDir } from '../data-dir-check.js'
import { CliError, usageError } from '../errors.js'
import { nodeRoleOf, type NodeRole } from '../node-role.js'
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

/** The data directory named by --dir or --config, and the config's role when --config gives it. */
async function whereOf (opts: WhereOptions, ctx: CliContext): Promise<{ dir: string, configRole?: InstitutionRole }> {
  let where: { dir: string, configRole?: InstitutionRole }
  if (opts.config !== undefined) {
    const config = await loadConfig(opts.config, ctx.env)
    where = { dir: config.dataDir, configRole: config.role }
  } else if (opts.dir !== undefined) {
    where = { dir: opts.dir }
  } else {
    throw usageError('say which node: --dir <data dir> or --config <file>')
  }
  if (!existsSync(dataDirLayout(where.dir).keys)) {
    const option = opts.config !== undefined ? `the config's dataDir (in ${opts.config}):` : '--dir'
    throw notADataDir(where.dir, 'keys/', { option, otherwise: `create it with \`healthchain keys create --dir ${where.dir}\`` })
  }
  return where
}

async function storeOf (opts: WhereOptions, ctx: CliContext): Promise<ApiKeyStore> {
  return await ApiKeyStore.open(dataDirLayout((await whereOf(opts, ctx)).dir).apiKeysFile)
}

/**
 * The role a new key gets: the node's own where it can be known (--config,
 * or what node-role.ts finds in the data directory), else --role unchecked.
 * A --role that is not the node's is refused here rather than at every
 * login (KEY_ROLE_MISMATCH, the code the node itself would answer).
 */
async function roleForNewKey (
  asked: InstitutionRole | undefined, where: { dir: string, configRole?: InstitutionRole }, opts: WhereOptions, ctx: CliContext, out: Output
): Promise<InstitutionRole> {
  const known: NodeRole = where.configRole !== undefined
    ? { role: where.configRole, source: opts.config! }
    : await nodeRoleOf(where.dir, ctx.env)
  if (known.role === undefined) {
    if (asked === undefined) throw usageError(`say the node's role with --role <role>, or use --config <the node's config>: the role cannot be learned from ${known.why}`)
    out.progress(`note: --role ${asked} could not be checked (${known.why}): if the node's config says another role, its logins will be refused (KEY_ROLE_MISMATCH)`)
    return asked
  }
  if (asked !== undefined && asked !== known.role) {
    throw new CliError('KEY_ROLE_MISMATCH', `--role ${asked} is not this node's role: ${known.source} says ${known.role}, and a node refuses keys of other roles at login; leave --role out (the key gets the node's role), or create the key at a node of that role`)
  }
  return known.role
}

/** An API key id as `apikey list` shows it: a typo is a usage error, not "unknown key". */
function keyIdArg (value: string): string {
  if (!/^[0-9a-f]{16}$/.test(value)) throw new InvalidArgumentError('expected a key id: 16 hex characters, as `apikey list` shows it (not the whole key)')
  return value
}

function rowOf (k: ApiKeyRecord): string[] {
  return [k.id, k.role, k.revokedAt === undefined ? 'active' : `revoked ${k.revokedAt}`, k.createdAt, k.label]
}

export function registerApiKey (program: Command, ctx: CliContext): void {
  const apikey = program.command('apikey').helpCommand(false).description('staff API keys of a node (work while the node runs)')

  withWhere(apikey.command('create'))
    .summary('create a staff API key (shown once)')
    .description('Create a staff API key bound to the node\'s role (a node refuses keys of other roles at login, so another --role is refused here). The key is printed once and never stored (only its hash is): give it to the staff system now.')
    .option('--role <role>', 'the node\'s role: examiner, inquirer or regulator (default: the node\'s, from --config, <dir>/config.json or the registry in <dir>; refused if it is not the node\'s)', roleArg)
    .option('--label <text>', 'who or what the key is for, shown in listings', 'staff')
    .addHelpText('after', examples(
      'healthchain apikey create --dir ./hospital-a --label "front desk"',
      'healthchain apikey create --config ./hospital-a/config.json --json'
    ))
    .action(async (opts: WhereOptions & { role?: InstitutionRole, label: string }) => {
      const out = new Output(ctx.io, opts)
      const where = await whereOf(opts, ctx)
      const role = await roleForNewKey(opts.role, where, opts, ctx, out)
      const store = await ApiKeyStore.open(dataDirLayout(where.dir).apiKeysFile)
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
      const store = await storeOf(opts, ctx)
      const keys = await store.list()
      out.result({ keys }, keys.length === 0 ? 'no API keys' : table(['id', 'role', 'status', 'created', 'label'], keys.map(rowOf)))
    })

  withWhere(apikey.command('revoke'))
    .summary('revoke an API key')
    .description('Revoke an API key by id: its logins are refused (REVOKED_KEY) and its live sessions end at their next request.')
    .requiredOption('--id <id>', 'the key\'s id (16 hex characters, from `apikey list`)', keyIdArg)
    .addHelpText('after', examples('healthchain apikey revoke --dir ./hospital-a --id 3f9c2a1b7d6e5f40'))
    .action(async (opts: WhereOptions & { id: string }) => {
      const out = new Output(ctx.io, opts)
      const store = await storeOf(opts, ctx)
      const record = await store.revoke(opts.id)
      out.result(record, `revoked API key ${record.id} ("${record.label}") at ${record.revokedAt ?? ''}`)
    })
}
