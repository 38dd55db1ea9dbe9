/** `healthchain keys create`: a node's own keys, in its data directory. */
import type { Command } from 'commander'
import { bytesToHex } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { prepareDataDir } from '../../data-dir.js'
import { loadOrCreateNodeKeys } from '../../node-keys.js'
import type { CliContext } from '../context.js'
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
}
