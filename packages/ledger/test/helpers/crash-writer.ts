/**
 * Runs the crash writer (fixtures/crash-writer.ts) in a child process and
 * kills it with SIGKILL once it has acknowledged `count` appends: what the
 * crash tests reopen the store after.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { bytesToHex } from '@healthchain/core'
import { within } from './consortium.js'

const require = createRequire(import.meta.url)
const TSX = pathToFileURL(require.resolve('tsx')).href
const WRITER = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url))

export interface KilledWriter {
  /** The positions it acknowledged, in order. */
  readonly acked: number[]
  /** The signal it ended with (SIGKILL, unless it died otherwise after the count was reached). */
  readonly signal: NodeJS.Signals | null
}

/**
 * Writes to `user`'s chain in the store at `dir`, signed with `signKey`, until `count` appends are acknowledged; then
 * SIGKILL. `env` is added to the writer's environment.
 */
export async function killWriterAfter (
  dir: string, user: string, signKey: Uint8Array, count: number, env: Readonly<Record<string, string>> = {}
): Promise<KilledWriter> {
  const proc = spawn(process.execPath, ['--import', TSX, WRITER, dir, user], {
    env: { ...process.env, ...env, HC_TEST_SIGN_KEY: bytesToHex(signKey) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const acked: number[] = []
  let stderr = ''
  let rest = ''
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const enough = new Promise<void>((resolve, reject) => {
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    proc.stdout.on('data', (d: Buffer) => {
      rest += d.toString()
      const lines = rest.split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        if (line === 'ready' || acked.length >= count) continue
        acked.push(Number(line))
        if (acked.length === count) {
          proc.kill('SIGKILL')
          resolve()
        }
      }
    })
    proc.once('exit', (code, signal) => {
      if (acked.length < count) reject(new Error(`writer exited early (${code ?? signal}): ${stderr.slice(0, 2000)}`))
    })
  })
  try {
    await within(enough, 20_000, `${count} acknowledged appends`)
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
  await within(exited, 5_000, 'writer exit')
  return { acked, signal: proc.signalCode }
}
