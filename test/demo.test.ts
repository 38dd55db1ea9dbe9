/**
 * The single-process demo (`npm run demo:local`, scripts/demo.ts), run as a
 * new user runs it: against a fresh data directory, then again to show the
 * data survives and the chain carries on. Real processes, real Corestores
 * on disk. (`npm start` is the dev network now: test/dev-network.test.ts.)
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url)
let dir: string | undefined

afterAll(async () => { if (dir !== undefined) await rm(dir, { recursive: true, force: true }) })

function runDemo (args: string[]): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo:local', '--', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

describe('npm run demo:local (the single-process demo)', () => {
  it('runs on a fresh directory, verifies the chain, and carries on from disk when run again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'healthchain-demo-'))
    const first = await runDemo(['--dir', dir, '--fresh'])
    expect(first.out).toContain('valid: true')
    expect(first.out).toContain('refused with BAD_SIGNATURE')
    expect(first.out).toContain('refused with ROLE_FORBIDDEN')
    // hospital-b is no recipient of the exam, but the grant re-wrapped its data key for it; the inquirer and the regulator never open it.
    expect(first.out).toContain('hospital-b (examiner): plain segments 4/4, sealed opened 1/1')
    expect(first.out).toContain('agency     (inquirer): plain segments 4/4, sealed opened 0/1')
    expect(first.code).toBe(0)
    const length = Number(/the chain has (\d+) positions/.exec(first.out)?.[1])
    expect(length).toBeGreaterThan(1)
    // Key files are owner-only.
    expect((await stat(join(dir, 'keys', 'governance.json'))).mode & 0o077).toBe(0)

    const second = await runDemo(['--dir', dir])
    expect(second.code).toBe(0)
    expect(second.out).toContain('(reopened)')
    expect(second.out).toContain('valid: true')
    expect(Number(/the chain has (\d+) positions/.exec(second.out)?.[1])).toBeGreaterThan(length)
  }, 60_000)

  it('answers an unknown option with `error USAGE`, its usage and exit 2, not a stack trace', async () => {
    const run = await runDemo(['--bogus'])
    expect(run.code).toBe(2)
    expect(run.out).toContain("error USAGE: Unknown option '--bogus'")
    expect(run.out).toContain('Usage: npm run demo:local')
    expect(run.out).not.toContain('    at ')
  }, 30_000)
})
