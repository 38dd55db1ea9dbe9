/**
 * `healthchain dev` refusals that must come before anything is made or
 * started: a taken port (the ports become part of a new network's registry,
 * so a network created on them could never start), and the same network
 * started twice. The whole run — start, demo, Ctrl-C, reopen — is
 * test/dev-network.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { DevManifest } from '../src/cli/dev/layout.js'
import { cli, errorCode } from './helpers/cli.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function tempDir (): Promise<string> {
  const dir = await makeTempDir('healthchain-cli-dev-')
  cleanups.push(async () => { await removeDir(dir) })
  return dir
}

async function listenAnywhere (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  const port = await new Promise<number>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve((server.address() as { port: number }).port) }) })
  cleanups.push(async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }) }) })
  return { server, port }
}

describe('healthchain dev', () => {
  it('refuses a taken port before it creates anything', async () => {
    const { port } = await listenAnywhere()
    const root = join(await tempDir(), 'net')
    const run = await cli(['dev', '--dir', root, '--base-port', String(port)])
    expect(run.code).toBe(1)
    expect(errorCode(run), run.stderr).toBe('PORT_IN_USE')
    expect(run.stderr).toContain(String(port))
    expect(run.stderr).not.toContain('created')
    // Nothing was set up: the next run with a free range creates the network afresh, no --fresh needed.
    expect(existsSync(root) ? await readdir(root) : []).toEqual([])
  })

  it('says the network is already running when its dev.json names a live process, and ignores a stale one', async () => {
    const root = await tempDir()
    const other: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    cleanups.push(() => { other.kill('SIGKILL') })
    const manifest: DevManifest = {
      v: 1, kind: 'healthchain-dev', pid: other.pid!, startedAt: new Date().toISOString(), registryKey: 'ab'.repeat(32), basePort: 7000, nodes: []
    }
    await writeFile(join(root, 'dev.json'), JSON.stringify(manifest), { mode: 0o600 })
    const running = await cli(['dev', '--dir', root])
    expect(running.code).toBe(1)
    expect(errorCode(running), running.stderr).toBe('ALREADY_RUNNING')
    expect(running.stderr).toContain(`kill -INT ${other.pid!}`)

    // The same dev.json after that process is gone is stale: no ALREADY_RUNNING (the run goes on to its next check).
    other.kill('SIGKILL')
    await new Promise((resolve) => other.once('exit', resolve))
    const { port } = await listenAnywhere()
    const stale = await cli(['dev', '--dir', root, '--base-port', String(port)])
    expect(errorCode(stale), stale.stderr).toBe('PORT_IN_USE')
  })
})
