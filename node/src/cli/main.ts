/**
 * Entry of the `healthchain` command, loaded by node/bin/healthchain.mjs
 * (which `npm start` and `npm run healthchain` run): runs the command line,
 * then sets the exit status. Only here does the CLI touch the process:
 * signals and exit. It is not run through the `tsx` command on purpose: that
 * wrapper relays signals to its child and SIGKILLs it when the child does not
 * acknowledge within about 60 ms, which cut clean shutdowns short under load.
 */
import type { CliContext } from './context.js'
import { processIo } from './output.js'
import { runCli } from './program.js'

/** After the command is done, how long open handles (sockets closing, timers) may keep the process alive. */
const EXIT_GRACE_MS = 3_000
/** A second Ctrl-C this long after the first stops without waiting (terminals and npm may deliver one press twice). */
const FORCE_AFTER_MS = 1_000

function untilStopped (): Promise<string> {
  return new Promise((resolve) => {
    let first: number | undefined
    const onSignal = (signal: NodeJS.Signals): void => {
      if (first === undefined) {
        first = Date.now()
        resolve(signal)
      } else if (Date.now() - first > FORCE_AFTER_MS) {
        process.stderr.write(`error INTERRUPTED: ${signal} again: exiting without waiting for a clean stop\n`)
        process.exit(130)
      }
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

// A reader that went away (`| head`, a terminal closed, Ctrl-C reaching a pipe's reader first) makes writes fail
// with EPIPE; that must never cut a clean shutdown short, so output errors are dropped.
process.stdout.on('error', () => {})
process.stderr.on('error', () => {})

const ctx: CliContext = { io: processIo, env: process.env, untilStopped }
const code = await runCli(process.argv.slice(2), ctx)
process.exitCode = code
// The work is done and stopped; do not let a lingering handle keep the shell waiting.
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref()
