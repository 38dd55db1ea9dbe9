/**
 * `healthchain admit | suspend | reinstate | rotate | reassign`: governance entries for the
 * registry, offline (--host-dir, host stopped) or sent to the running host
 * (--api); see registry-ops.ts.
 */
import { readFile } from 'node:fs/promises'
import { Option, type Command } from 'commander'
import { bytesToHex, fromHex, type InstitutionId, type InstitutionRole, type RegistryEntryType, type RegistryPlainByType } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { z } from 'zod'
import { admissionOf } from '../../consortium.js'
import { prepareDataDir } from '../../data-dir.js'
import { loadOrCreateNodeKeys } from '../../node-keys.js'
import { ApiClient } from '../api-client.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { Output } from '../output.js'
import { examples, institutionIdArg, multiaddrArg, pathArg, roleArg, timeArg, urlArg, withJson } from '../options.js'
import { appendOffline, appendOnline, readGovernanceKey, type PlainFor, type RegistryAppend } from '../registry-ops.js'

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000

interface TargetOptions {
  governanceKey: string
  hostDir?: string
  api?: string
  json?: boolean
}

const publicKeysFileSchema = z.object({
  peerId: z.string(),
  sign: z.string().regex(/^[0-9a-f]{64}$/),
  box: z.string().regex(/^[0-9a-f]{64}$/)
})

/** The options every governance command has: the key, and where the registry is. */
function withTarget (command: Command): Command {
  return withJson(command)
    .requiredOption('--governance-key <file>', 'the governance key file (from `healthchain consortium create`)', pathArg)
    .addOption(new Option('--host-dir <path>', 'offline: the registry host\'s data directory (the host node stopped)').argParser(pathArg).conflicts('api'))
    .addOption(new Option('--api <url>', 'online: the running registry host\'s API URL').argParser(urlArg))
}

async function append<T extends RegistryEntryType> (opts: TargetOptions, type: T, plain: PlainFor<T>): Promise<RegistryAppend> {
  if (opts.hostDir === undefined && opts.api === undefined) throw usageError('say where the registry is: --host-dir <path> (host stopped) or --api <url> (host running)')
  const governance = await readGovernanceKey(opts.governanceKey)
  return opts.api !== undefined
    ? await appendOnline(new ApiClient(opts.api), type, plain, governance)
    : await appendOffline(opts.hostDir!, type, plain, governance)
}

function where (opts: TargetOptions): string {
  return opts.api ?? opts.hostDir!
}

export function registerRegistry (program: Command, ctx: CliContext): void {
  withTarget(program.command('admit'))
    .summary('admit an institution to the registry (governance)')
    .description('Admit an institution to the registry: its role, its public keys (from its data directory, or from the file `healthchain keys create --json` printed), its libp2p peer id and the addresses other nodes dial it on.')
    .requiredOption('--institution <id>', 'the institution\'s id (a-z, 0-9, -), as its node\'s config names it', institutionIdArg)
    .requiredOption('--role <role>', 'examiner, inquirer or regulator', roleArg)
    .option('--name <text>', 'display name (default: the id)')
    .addOption(new Option('--data-dir <path>', 'the institution node\'s data directory: its keys are read (created if missing)').argParser(pathArg).conflicts('publicKeys'))
    .option('--public-keys <file>', 'instead of --data-dir: the JSON `healthchain keys create --json` printed on the institution\'s machine', pathArg)
    .option('--addr <multiaddr>', 'an address other nodes dial it on, without /p2p (repeat for several)', multiaddrArg)
    .addHelpText('after', examples(
      'healthchain admit --host-dir ./hospital-a --governance-key ./governance.json --institution hospital-b --role examiner --data-dir ./hospital-b --addr /ip4/10.0.0.2/tcp/4001',
      'healthchain admit --api http://127.0.0.1:8080 --governance-key ./governance.json --institution agency --role inquirer --public-keys ./agency.keys.json'
    ))
    .action(async (opts: TargetOptions & {
      institution: InstitutionId, role: InstitutionRole, name?: string, dataDir?: string, publicKeys?: string, addr?: string[]
    }) => {
      const out = new Output(ctx.io, opts)
      if (opts.dataDir === undefined && opts.publicKeys === undefined) throw usageError('give the institution\'s keys: --data-dir <path> or --public-keys <file>')
      const plain = opts.dataDir !== undefined
        ? await admissionOf({
          id: opts.institution,
          role: opts.role,
          dataDir: opts.dataDir,
          ...(opts.name === undefined ? {} : { name: opts.name }),
          ...(opts.addr === undefined ? {} : { addrs: opts.addr })
        })
        : await admissionFromFile(opts.publicKeys!, opts.institution, opts.role, opts.name, opts.addr)
      const result = await append(opts, 'admit', plain)
      out.result({ ...result, institution: opts.institution, role: opts.role, peerId: plain.peer, addrs: plain.addrs ?? [] }, [
        `admitted ${opts.institution} (${opts.role}) at registry position ${result.seq} in ${where(opts)}`,
        `peer id ${plain.peer ?? '(none)'}${(plain.addrs ?? []).length > 0 ? `, dialled on ${plain.addrs!.join(', ')}` : ''}`
      ])
    })

  withTarget(program.command('suspend'))
    .summary('suspend an institution (governance)')
    .description('Suspend an institution: from the registry position of this entry on, its writes are refused everywhere and nodes cut its connections. Reversible with `reinstate`.')
    .requiredOption('--institution <id>', 'the institution to suspend', institutionIdArg)
    .option('--reason <text>', 'why, as the registry records it (no personal data)')
    .addHelpText('after', examples(
      'healthchain suspend --api http://127.0.0.1:8080 --governance-key ./governance.json --institution hospital-b --reason "audit pending"'
    ))
    .action(async (opts: TargetOptions & { institution: InstitutionId, reason?: string }) => {
      const out = new Output(ctx.io, opts)
      const result = await append(opts, 'suspend', { institution: opts.institution, ...(opts.reason === undefined ? {} : { reason: opts.reason }) })
      out.result({ ...result, institution: opts.institution }, `suspended ${opts.institution} at registry position ${result.seq} in ${where(opts)}`)
    })

  withTarget(program.command('reinstate'))
    .summary('reinstate a suspended institution (governance)')
    .description('Reinstate a suspended institution.')
    .requiredOption('--institution <id>', 'the institution to reinstate', institutionIdArg)
    .addHelpText('after', examples(
      'healthchain reinstate --host-dir ./hospital-a --governance-key ./governance.json --institution hospital-b'
    ))
    .action(async (opts: TargetOptions & { institution: InstitutionId }) => {
      const out = new Output(ctx.io, opts)
      const result = await append(opts, 'reinstate', { institution: opts.institution })
      out.result({ ...result, institution: opts.institution }, `reinstated ${opts.institution} at registry position ${result.seq} in ${where(opts)}`)
    })

  withTarget(program.command('reassign'))
    .summary('let an examiner continue a suspended institution\'s chains (governance)')
    .description([
      'Reassign a suspended custodian\'s chains: from --after on, the examiner --to may continue each chain whose user has not moved it,',
      'with a migrate entry it signs itself. Every user\'s phone sees the reassignment in the registry first. The registry refuses it unless',
      'the institution is suspended, --to is another active examiner, and --after is at least the consortium\'s notice period',
      '(30 days unless the consortium set its own) after the entry. Reinstating the institution cancels it.'
    ].join(' '))
    .requiredOption('--institution <id>', 'the suspended custodian', institutionIdArg)
    .requiredOption('--to <id>', 'the active examiner that may continue its chains', institutionIdArg)
    .option('--after <time>', 'from this time on (ISO 8601 with a zone; default: the notice period from now, to the minute after next)', timeArg)
    .addHelpText('after', examples(
      'healthchain reassign --api http://127.0.0.1:8080 --governance-key ./governance.json --institution hospital-b --to hospital-a',
      'healthchain reassign --host-dir ./hospital-a --governance-key ./governance.json --institution hospital-b --to hospital-c --after 2027-03-01T00:00:00Z'
    ))
    .action(async (opts: TargetOptions & { institution: InstitutionId, to: InstitutionId, after?: number }) => {
      const out = new Output(ctx.io, opts)
      if (opts.to === opts.institution) throw usageError('--to must name another institution than --institution: the chains move away from it')
      let after = 0
      const result = await append(opts, 'reassign', ({ noticePeriod }) => {
        after = reassignmentAfter(opts.after, noticePeriod)
        return { institution: opts.institution, to: opts.to, after }
      })
      const when = new Date(after).toISOString()
      out.result({ ...result, institution: opts.institution, to: opts.to, after }, [
        `reassigned ${opts.institution}'s chains to ${opts.to} from ${when} at registry position ${result.seq} in ${where(opts)}`,
        `until then its users may move their chains themselves; reinstating ${opts.institution} cancels this`
      ])
    })

  withTarget(program.command('rotate'))
    .summary('record an institution\'s new keys (governance)')
    .description([
      'Record an institution\'s new signing and sealing keys (made by `healthchain keys rotate` on its machine).',
      'Entries it signed before this registry position still verify with the old key; from here on only the new one is accepted,',
      'and exams are sealed to the new box key.'
    ].join(' '))
    .requiredOption('--institution <id>', 'the institution whose keys change', institutionIdArg)
    .addOption(new Option('--data-dir <path>', 'the institution node\'s data directory: its newest key generation is read')
      .argParser(pathArg).conflicts('publicKeys'))
    .option('--public-keys <file>', 'instead of --data-dir: the JSON `healthchain keys rotate --json` printed on the institution\'s machine', pathArg)
    .option('--addr <multiaddr>', 'new addresses other nodes dial it on, without /p2p (repeat for several; default: unchanged)', multiaddrArg)
    .addHelpText('after', examples(
      'healthchain rotate --api http://127.0.0.1:8080 --governance-key ./governance.json --institution hospital-a --public-keys ./hospital-a.rotated.json',
      'healthchain rotate --host-dir ./hospital-a --governance-key ./governance.json --institution hospital-b --data-dir ./hospital-b'
    ))
    .action(async (opts: TargetOptions & { institution: InstitutionId, dataDir?: string, publicKeys?: string, addr?: string[] }) => {
      const out = new Output(ctx.io, opts)
      if (opts.dataDir === undefined && opts.publicKeys === undefined) {
        throw usageError('give the institution\'s new keys: --data-dir <path> or --public-keys <file>')
      }
      const keys = await rotationKeys(opts)
      const plain = { institution: opts.institution, ...keys, ...(opts.addr === undefined || opts.addr.length === 0 ? {} : { addrs: opts.addr }) }
      const result = await append(opts, 'rotate', plain)
      out.result({ ...result, institution: opts.institution, sign: bytesToHex(keys.sign), box: bytesToHex(keys.box) }, [
        `rotated ${opts.institution}'s keys at registry position ${result.seq} in ${where(opts)}`,
        `sign ${bytesToHex(keys.sign)}`,
        `box  ${bytesToHex(keys.box)}`
      ])
    })
}

/**
 * A reassignment's `after`: the time given, which must leave the notice
 * period from now (USAGE, before the registry refuses it), or by default the
 * notice period from now rounded up to the minute after next, so the entry's
 * own time (taken when it is signed, a moment later) still leaves it.
 */
function reassignmentAfter (given: number | undefined, noticePeriod: number): number {
  const earliest = Date.now() + noticePeriod
  if (given === undefined) return Math.ceil(earliest / MINUTE_MS) * MINUTE_MS + MINUTE_MS
  if (given < earliest) {
    throw usageError(`--after ${new Date(given).toISOString()} is within the consortium's notice period of ${noticePeriod / DAY_MS} days: ` +
      `give ${new Date(Math.ceil(earliest / MINUTE_MS) * MINUTE_MS + MINUTE_MS).toISOString()} or later`)
  }
  return given
}

/** The public keys a `rotate` entry names: the newest generation in the institution's data directory, or what `keys rotate --json` printed. */
async function rotationKeys (opts: { dataDir?: string, publicKeys?: string }): Promise<{ sign: Uint8Array, box: Uint8Array, peer: string }> {
  if (opts.dataDir !== undefined) {
    const keys = await loadOrCreateNodeKeys((await prepareDataDir(opts.dataDir)).keys, sodiumProvider)
    return { sign: keys.institution.sign.publicKey, box: keys.institution.box.publicKey, peer: keys.peerId }
  }
  const parsed = await publicKeysFrom(opts.publicKeys!, '`healthchain keys rotate --json`')
  return { sign: fromHex(parsed.sign, 32, 'sign'), box: fromHex(parsed.box, 32, 'box'), peer: parsed.peerId }
}

async function publicKeysFrom (file: string, printedBy: string): Promise<z.infer<typeof publicKeysFileSchema>> {
  const text = await readFile(file, 'utf8')
  try {
    return publicKeysFileSchema.parse(JSON.parse(text))
  } catch (cause) {
    throw new CliError('BAD_FILE', `${file} is not the output of ${printedBy}`, { cause })
  }
}

async function admissionFromFile (file: string, id: InstitutionId, role: InstitutionRole, name: string | undefined, addrs: string[] | undefined): Promise<RegistryPlainByType['admit']> {
  const parsed = await publicKeysFrom(file, '`healthchain keys create --json`')
  return {
    institution: id,
    name: name ?? id,
    role,
    sign: fromHex(parsed.sign, 32, 'sign'),
    box: fromHex(parsed.box, 32, 'box'),
    peer: parsed.peerId,
    ...(addrs === undefined || addrs.length === 0 ? {} : { addrs })
  }
}
