/** `healthchain consortium create`: the governance key and the registry, in the host node's data directory. */
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { bytesToHex, type InstitutionId } from '@healthchain/core'
import { createConsortium } from '../../consortium.js'
import type { CliContext } from '../context.js'
import { Output } from '../output.js'
import { examples, institutionIdArg, pathArg, withJson } from '../options.js'

export function registerConsortium (program: Command, ctx: CliContext): void {
  const consortium = program.command('consortium').helpCommand(false).description('the consortium: governance key and registry')
  withJson(consortium.command('create'))
    .summary('create the governance key and the registry')
    .description('Create the consortium\'s registry in the host node\'s data directory (the node must be stopped), signed by the governance key in --governance-key (created, owner-only, if the file does not exist). Prints the registry key every node\'s config names as registryKey. Then admit the institutions, the host included, with `healthchain admit`.')
    .requiredOption('--host-dir <path>', 'data directory of the node that will host the registry', pathArg)
    .requiredOption('--name <text>', 'the consortium\'s name, as the registry records it')
    .requiredOption('--institution <id>', 'the host node\'s institution id (as it will be admitted)', institutionIdArg)
    .requiredOption('--governance-key <file>', 'the governance key file: the consortium\'s root of trust; keep it offline', pathArg)
    .addHelpText('after', examples(
      'healthchain consortium create --host-dir ./hospital-a --name "Demo consortium" --institution hospital-a --governance-key ./governance.json'
    ))
    .action(async (opts: { hostDir: string, name: string, institution: InstitutionId, governanceKey: string, json?: boolean }) => {
      const out = new Output(ctx.io, opts)
      const existed = existsSync(opts.governanceKey)
      const { registryKey, governance } = await createConsortium({
        hostDataDir: opts.hostDir, governanceKeyPath: opts.governanceKey, name: opts.name, institution: opts.institution
      })
      const result = {
        registryKey: bytesToHex(registryKey),
        governanceKey: bytesToHex(governance.sign.publicKey),
        governanceKeyFile: opts.governanceKey,
        governanceKeyCreated: !existed,
        host: opts.institution
      }
      out.result(result, [
        `registry created in ${opts.hostDir} (host: ${opts.institution})`,
        `registry key    ${result.registryKey}   <- registryKey in every node's config`,
        `governance key  ${result.governanceKey} (${existed ? 'existing' : 'new'} file ${opts.governanceKey}, owner-only: keep it offline)`,
        '',
        'next: admit every institution, the host included:',
        `  healthchain admit --host-dir ${opts.hostDir} --governance-key ${opts.governanceKey} --institution ${opts.institution} --role examiner --data-dir ${opts.hostDir}`
      ])
    })
}
