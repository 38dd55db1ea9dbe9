/**
 * `healthchain keys create | rotate`: a node's own keys, in its data
 * directory. `rotate` makes the next generation beside the others (the old
 * secret keys stay: exams sealed to the old box key must stay readable);
 * the node uses it once governance's `rotate` entry names it.
 */
import { existsSync } from 'node:fs'
import { Option, type Command } from 'commander'
import { bytesToHex } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { loadConfig } from '../../config.js'
import { dataDirLayout, prepareDataDir } from '../../data-dir.js'
import { loadOrCreateNodeKeys, rotateInstitutionKeys } from '../../node-keys.js'
import type { CliContext } from '../context.js'
import { notADataDir } from '../data-dir-check.js'
import { usageError } from '../errors.js'
import { Output } from '../output.js'
import { examples, pathArg, withJson } from '../options.js'

/**
 * The public half of a node's keys, as `keys create --json` prints it and
 * `admit --public-keys FILE` reads it: what an institution sends the
 * consortium's governance to be admitted. No secret is in it.
 */
export interface NodePublicKeys {
  readonly v: 1
  readonly kind: 'healthchain-node-public-keys'
  readonly peerId: string
  /** Ed25519, hex: the institution's signing key (the registry's `sign`). */
  readonly sign: string
  /** X25519, hex: the key exams are sealed to (the registry's `box`). */
  readonly box: string
}

export function registerKeys (program: Command, ctx: CliContext): void {
  const keys = program.command('keys').helpCommand(false).description('a node\'s own keys: institution signing and sealing keys, libp2p identity')
  withJson(keys.command('create'))
    .summary('create (or show) a node\'s keys')
    .description('Create the node\'s keys in <dir>/keys (owner-only files), or read the ones already there, and print their public halves and the libp2p peer id: what the consortium\'s governance needs to admit the node.')
    .requiredOption('--dir <path>', 'the node\'s data directory (created, 0700, if missing)', pathArg)
    .addHelpText('after', examples(
      'healthchain keys create --dir ./hospital-a',
      'healthchain keys create --dir ./hospital-a --json > hospital-a.keys.json   # send this file to governance'
    ))
    .action(async (opts: { dir: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const layout = await prepareDataDir(opts.dir)
      const keys = await loadOrCreateNodeKeys(layout.keys, sodiumProvider)
      const pub: NodePublicKeys & { created: boolean } = {
        v: 1,
        kind: 'healthchain-node-public-keys',
        peerId: keys.peerId,
        sign: bytesToHex(keys.institution.sign.publicKey),
        box: bytesToHex(keys.institution.box.publicKey),
        created: keys.created
      }
      out.result(pub, [
        `${keys.created ? 'created' : 'existing'} node keys in ${layout.keys} (owner-only)`,
        `peer id  ${pub.peerId}`,
        `sign     ${pub.sign}`,
        `box      ${pub.box}`
      ])
    })
  withJson(keys.command('rotate'))
    .summary('make a new generation of the institution\'s keys')
    .description([
      'Make a new signing and sealing key pair in the node\'s key store, beside the old ones (kept: exams sealed to an old key stay readable),',
      'and print its public halves. The node keeps signing with the key the registry lists until governance records the new one:',
      '`healthchain rotate --public-keys <this output>`. Safe while the node runs.'
    ].join(' '))
    .addOption(new Option('--dir <path>', 'the node\'s data directory').argParser(pathArg).conflicts('config'))
    .option('--config <file>', 'instead of --dir: the node\'s config file (its dataDir)', pathArg)
    .addHelpText('after', examples(
      'healthchain keys rotate --dir ./hospital-a --json > hospital-a.rotated.json   # send this file to governance'
    ))
    .action(async (opts: { dir?: string, config?: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const dir = opts.config !== undefined ? (await loadConfig(opts.config, ctx.env)).dataDir : opts.dir
      if (dir === undefined) throw usageError('say which node: --dir <data dir> or --config <file>')
      const layout = dataDirLayout(dir)
      if (!existsSync(layout.keys)) {
        const option = opts.config !== undefined ? `the config's dataDir (in ${opts.config}):` : '--dir'
        throw notADataDir(dir, 'keys/', { option, otherwise: `create its keys with \`healthchain keys create --dir ${dir}\`` })
      }
      const { keys: rotated, generation } = await rotateInstitutionKeys(layout.keys, sodiumProvider)
      const { peerId } = await loadOrCreateNodeKeys(layout.keys, sodiumProvider)
      const pub: NodePublicKeys & { generation: number } = {
        v: 1,
        kind: 'healthchain-node-public-keys',
        peerId,
        sign: bytesToHex(rotated.sign.publicKey),
        box: bytesToHex(rotated.box.publicKey),
        generation
      }
      out.result(pub, [
        `new institution keys (generation ${generation}) in ${layout.keys} (owner-only); the older ones are kept`,
        `sign     ${pub.sign}`,
        `box      ${pub.box}`,
        'the node signs with them once the registry lists them: healthchain rotate --public-keys <this output as --json>'
      ])
    })
}
