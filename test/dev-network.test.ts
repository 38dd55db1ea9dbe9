/**
 * `npm start`, `npm run demo` and `npm run demo:data`, run as a new user runs them: the dev
 * network started as a child process on a free port range in a temporary
 * directory; its four nodes answer; the narrated demo runs against it and
 * exits 0; SIGINT stops it cleanly (exit 0, dev.json removed); started
 * again, it reopens the same data (the user the demo enrolled is still
 * there) and Ctrl-C, delivered to the whole process group as a terminal
 * does, stops it cleanly again.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = new URL('..', import.meta.url)
const PORT_SPAN = 24

interface Run {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

interface Manifest {
  pid: number
  nodes: Array<{ name: string, role: string, api: string, console: string, peerId: string, apiKey: string }>
}

let dir: string | undefined
const running = new Set<Run>()

afterAll(async () => {
  for (const run of running) {
    if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-run.child.pid!, 'SIGKILL')
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Spawns an npm command in its own process group (so a test can signal it as a terminal would). */
function npm (args: string[]): Run {
  const child = spawn('npm', args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => { resolve({ code, signal }) })
  })
  const run = { child, output: () => out, exited }
  running.add(run)
  return run
}

async function portFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => { server.close(() => { resolve(true) }) })
  })
}

/** A base port whose whole range (API, libp2p TCP, WebSockets) is free now. */
async function freeBasePort (): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    let free = true
    for (let port = base; port < base + PORT_SPAN && free; port++) free = await portFree(port)
    if (free) return base
  }
  throw new Error('no free port range found')
}

/** Until dev.json appears (the network is ready), failing early if the process exits first. */
async function waitForManifest (run: Run, path: string, timeoutMs = 90_000): Promise<Manifest> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as Manifest
    if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`npm start exited before it was ready:\n${run.output()}`)
    if (Date.now() > deadline) throw new Error(`npm start not ready after ${timeoutMs} ms:\n${run.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Waits until `text` has come through the child's output: the CLI prints its
 * ready table right after writing dev.json, but the pipe can deliver it a
 * moment after the file is seen (under load it did).
 */
async function waitForOutput (run: Run, text: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (!run.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`"${text}" not printed within ${timeoutMs} ms:\n${run.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return run.output()
}

async function getJson (url: string, init: RequestInit = {}): Promise<{ status: number, body: any }> {
  const response = await fetch(url, init)
  return { status: response.status, body: await response.json() }
}

async function staffToken (node: Manifest['nodes'][number]): Promise<string> {
  const reply = await getJson(`${node.api}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: node.apiKey }) })
  expect(reply.status).toBe(200)
  return reply.body.token as string
}

describe('npm start (the dev network) and npm run demo', () => {
  it('starts four nodes, runs the narrated demo, stops cleanly on SIGINT, and reopens its data', async () => {
    dir = await mkdtemp(join(tmpdir(), 'healthchain-dev-'))
    const base = await freeBasePort()
    const manifestPath = join(dir, 'dev.json')

    // ---- first run: a new network
    const first = npm(['start', '--', '--dir', dir, '--base-port', String(base)])
    const manifest = await waitForManifest(first, manifestPath)
    expect((await stat(manifestPath)).mode & 0o077).toBe(0) // it holds API keys
    expect(manifest.nodes.map((n) => [n.name, n.role])).toEqual([
      ['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']
    ])
    for (const [i, node] of manifest.nodes.entries()) {
      expect(node.api).toBe(`http://127.0.0.1:${base + i}`)
      expect(node.console).toBe(`http://127.0.0.1:${base + i}/`)
      const status = await getJson(`${node.api}/v1/status`)
      expect(status.status).toBe(200)
      expect(status.body.name).toBe(node.name)
      expect(status.body.peerId).toBe(node.peerId)
      expect(status.body.connectedPeers).toHaveLength(3)
    }
    expect(await waitForOutput(first, 'healthchain dev network ready (new)')).toContain('healthchain dev network ready (new)')

    const demo = npm(['run', 'demo', '--', '--dir', dir])
    const demoExit = await demo.exited
    const narration = demo.output()
    expect(demoExit.code, narration).toBe(0)
    for (const marker of [
      'Login audit:',
      'refused: 401 UNKNOWN_KEY',
      'refused: 401 LOGIN_REFUSED',
      'sealed: readable',
      'sealed: not readable',
      'sealed: absent',
      'refused: 403 FORBIDDEN',
      'hospital-b now: sealed: readable',
      'refused: 422 BAD_SIGNATURE',
      'valid: true',
      'refused BAD_SIGNATURE' // the audit log's line for the refused login
    ]) expect(narration).toContain(marker)
    const userId = /user ([a-z2-7]{32}) enrolled/.exec(narration)?.[1]
    expect(userId).toBeDefined()

    // The sample patients for the web console: phrase files to sign in with, histories at both hospitals.
    const data = npm(['run', 'demo:data', '--', '--dir', dir, '--patients', '3'])
    const dataExit = await data.exited
    expect(dataExit.code, data.output()).toBe(0)
    const samples = [...data.output().matchAll(/^ {2}([a-z2-7]{32}) {2}custodian (hospital-[ab]) {2}(\S+\.json)$/gm)]
    expect(samples.map((m) => m[2])).toEqual(['hospital-a', 'hospital-b', 'hospital-a'])
    for (const [, sample, custodian, file] of samples) {
      expect((await stat(file!)).mode & 0o077).toBe(0) // a recovery phrase: owner-only
      const node = manifest.nodes.find((n) => n.name === custodian)!
      const history = await getJson(`${node.api}/v1/users/${sample!}/entries?type=exam`, { headers: { authorization: `Bearer ${await staffToken(node)}` } })
      expect(history.status).toBe(200)
      // Six yearly check-ups, written at both hospitals (the other one's forwarded to the custodian).
      expect(history.body.entries).toHaveLength(6)
      expect(new Set(history.body.entries.map((e: { author: string }) => e.author))).toEqual(new Set(['hospital-a', 'hospital-b']))
    }

    // SIGINT to the process dev.json names (`kill -INT <pid>`): a clean stop, and npm exits 0.
    process.kill(manifest.pid, 'SIGINT')
    const firstExit = await first.exited
    expect(firstExit, first.output()).toEqual({ code: 0, signal: null })
    expect(first.output()).toContain(`stopped; data kept in ${dir}`)
    expect(existsSync(manifestPath)).toBe(false)

    // ---- second run: the same data
    const second = npm(['start', '--', '--dir', dir])
    const again = await waitForManifest(second, manifestPath)
    expect(await waitForOutput(second, 'healthchain dev network ready (reopened)')).toContain('healthchain dev network ready (reopened)')
    expect(again.nodes.map((n) => n.peerId)).toEqual(manifest.nodes.map((n) => n.peerId))
    expect(again.nodes.map((n) => n.apiKey)).toEqual(manifest.nodes.map((n) => n.apiKey))
    const hospitalA = again.nodes[0]!
    const chain = await getJson(`${hospitalA.api}/v1/users/${userId!}`, { headers: { authorization: `Bearer ${await staffToken(hospitalA)}` } })
    expect(chain.status).toBe(200)
    expect(chain.body.custodian).toBe('hospital-a')
    expect(chain.body.length).toBeGreaterThanOrEqual(5) // genesis, exam, exercise, GPS, consent

    // Ctrl-C as a terminal sends it: to the whole foreground process group (npm, its shell, the CLI).
    process.kill(-second.child.pid!, 'SIGINT')
    await second.exited
    // The CLI stops cleanly; npm's shell re-raises the interrupt, so npm itself may report SIGINT rather than 0.
    expect(second.output()).toContain(`stopped; data kept in ${dir}`)
    expect(second.output()).not.toContain('error ')
    expect(existsSync(manifestPath)).toBe(false)
  }, 240_000)
})
