/**
 * The `healthchain` command line: one commander program, one module per
 * command group (commands/*.ts), run by `runCli`, which never exits the
 * process itself (main.ts does) so tests run it in-process.
 *
 * Usage errors (unknown option, missing option, bad value) are printed by
 * commander through `outputError` as `error USAGE: …` and end with exit 2;
 * any other failure is printed here as `error <CODE>: …` with exit 1.
 */
import { Command, CommanderError } from 'commander'
import { registerApiKey } from './commands/apikey.js'
import { registerAudit } from './commands/audit.js'
import { registerBackup } from './commands/backup.js'
import { registerConsortium } from './commands/consortium.js'
import { registerCustody } from './commands/custody.js'
import { registerDev } from './commands/dev.js'
import { registerKeys } from './commands/keys.js'
import { registerPhone } from './commands/phone.js'
import { registerRegistry } from './commands/registry.js'
import { registerReindex } from './commands/reindex.js'
import { registerStart } from './commands/start.js'
import { registerStatus } from './commands/status.js'
import { registerUser } from './commands/user.js'
import { registerVerify } from './commands/verify.js'
import type { CliContext } from './context.js'
import { failureOf } from './errors.js'
import { HEALTHCHAIN_VERSION } from './version.js'

export function createProgram (ctx: CliContext): Command {
  const program = new Command('healthchain')
    .description('healthchain: one tamper-evident health chain per person, replicated between institutions.\nRun `healthchain <command> --help` for a command\'s options and examples.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => { ctx.io.stdout(text) },
      writeErr: (text) => { ctx.io.stderr(text) },
      // Commander's messages start with "error: "; ours name the code.
      outputError: (text, write) => { write(`error USAGE: ${text.replace(/^error: /, '')}`) }
    })
    .showHelpAfterError('(add --help for usage)')
    .helpCommand(false)
    .version(HEALTHCHAIN_VERSION, '-V, --version', 'print the installed version and exit')
  registerDev(program, ctx)
  registerKeys(program, ctx)
  registerConsortium(program, ctx)
  registerRegistry(program, ctx)
  registerStart(program, ctx)
  registerApiKey(program, ctx)
  registerUser(program, ctx)
  registerCustody(program, ctx)
  registerPhone(program, ctx)
  registerVerify(program, ctx)
  registerReindex(program, ctx)
  registerStatus(program, ctx)
  registerAudit(program, ctx)
  registerBackup(program, ctx)
  return program
}

/** Runs one command line (without the node and script paths); resolves with the exit status. */
export async function runCli (argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = createProgram(ctx)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with 0; everything else commander raises is a usage error, already printed.
      return err.exitCode === 0 ? 0 : 2
    }
    const failure = failureOf(err)
    ctx.io.stderr(`error ${failure.code}: ${failure.message}\n`)
    return failure.exitCode
  }
}
