/** Running the `healthchain` CLI in this process (runCli), capturing what it prints. */
import { runCli } from '../../src/cli/program.js'

export interface CliRun { code: number, stdout: string, stderr: string, json: () => any }

/** Runs one command line; `onPrinted` sees everything it printed (e.g. to prove a secret never appears). */
export async function cli (argv: readonly string[], onPrinted?: (text: string) => void): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, {
    io: { stdout: (t) => { stdout += t }, stderr: (t) => { stderr += t } },
    env: {},
    untilStopped: () => new Promise<string>(() => {})
  })
  onPrinted?.(stdout + stderr)
  return { code, stdout, stderr, json: () => JSON.parse(stdout) }
}

/** The CODE of the `error <CODE>: …` line a failed run printed. */
export function errorCode (run: CliRun): string | undefined {
  return /^error ([A-Z_]+): /m.exec(run.stderr)?.[1]
}
