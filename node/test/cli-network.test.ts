/**
 * The `healthchain` commands that talk to a running node: a real node
 * started by `healthchain start` through the package's bin launcher
 * (node/bin/healthchain.mjs) as a child process, with its API on
 * 127.0.0.1 (a free port); governance entries sent to it (--api); API keys
 * created and revoked while it runs; a user enrolled, writing, reading and
 * granting; the audit log; refusals with their codes; STORE_LOCKED for the
 * offline commands while it runs; SIGINT → clean stop, exit 0; then the
 * chain verified offline.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli as runCliCapturing, errorCode, type CliRun } from './helpers/cli.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

async function cli (...argv: string[]): Promise<CliRun> {
  return await runCliCapturing(argv)
}

const nodeRoot = new URL('..', import.meta.url)
let dir: string
let child: ChildProcess | undefined
let blocker: Server | undefined

beforeAll(async () => { dir = await makeTempDir('healthchain-cli-net-') })
afterAll(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await new Promise<void>((resolve) => { if (blocker === undefined) resolve(); else blocker.close(() => { resolve() }) })
  await removeDir(dir)
})

/** `healthchain start --json` through the bin launcher; resolves with the ready document. */
async function startNode (config: string): Promise<{ ready: any, output: () => string, exited: Promise<number | null> }> {
  child = spawn(process.execPath, ['bin/healthchain.mjs', 'start', '--config', config, '--json'], { cwd: nodeRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => { child!.on('close', (code) => { resolve(code) }) })
  const ready = await new Promise<any>((resolve, reject) => {
    child!.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      try { resolve(JSON.parse(stdout)) } catch {} // the document may arrive in pieces
    })
    child!.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    void exited.then((code) => { reject(new Error(`healthchain start exited ${String(code)} before it was ready:\n${stderr}`)) })
  })
  return { ready, output: () => stdout + stderr, exited }
}

describe('healthchain CLI against a running node', () => {
  it('admits over HTTP, manages API keys live, enrols, writes, reads, grants, audits, and stops cleanly on SIGINT', async () => {
    const hostDir = join(dir, 'hospital-a')
    const governance = join(dir, 'governance.json')
    expect((await cli('keys', 'create', '--dir', hostDir)).code).toBe(0)
    expect((await cli('consortium', 'create', '--host-dir', hostDir, '--name', 'CLI test', '--institution', 'hospital-a', '--governance-key', governance)).code).toBe(0)
    expect((await cli('admit', '--host-dir', hostDir, '--governance-key', governance, '--institution', 'hospital-a', '--role', 'examiner', '--data-dir', hostDir)).code).toBe(0)
    const config = join(dir, 'hospital-a.json')
    await writeFile(config, JSON.stringify({
      name: 'hospital-a', role: 'examiner', dataDir: hostDir, api: { host: '127.0.0.1', port: 0 }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] }
    }))

    const node = await startNode(config)
    expect(node.ready).toMatchObject({ name: 'hospital-a', role: 'examiner' })
    const api = node.ready.api as string
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    // ---- governance over HTTP
    const target = ['--api', api, '--governance-key', governance]
    const admitted = await cli('admit', ...target, '--institution', 'agency', '--role', 'inquirer', '--data-dir', join(dir, 'agency'), '--json')
    expect(admitted.code, admitted.stderr).toBe(0)
    expect(admitted.json()).toMatchObject({ seq: 2, type: 'admit' })
    expect((await cli('admit', ...target, '--institution', 'hospital-b', '--role', 'examiner', '--data-dir', join(dir, 'hospital-b'))).code).toBe(0)
    expect((await cli('suspend', ...target, '--institution', 'agency', '--json')).json()).toMatchObject({ seq: 4, type: 'suspend' })
    expect((await cli('reinstate', ...target, '--institution', 'agency', '--json')).json()).toMatchObject({ seq: 5, type: 'reinstate' })
    // A reassignment through the API: refused while the institution is active; its default `after` is the notice period the registry reports.
    expect(errorCode(await cli('reassign', ...target, '--institution', 'agency', '--to', 'hospital-b'))).toBe('REGISTRY_CONFLICT')
    expect((await cli('suspend', ...target, '--institution', 'agency', '--json')).json()).toMatchObject({ seq: 6, type: 'suspend' })
    const before = Date.now()
    const reassigned = await cli('reassign', ...target, '--institution', 'agency', '--to', 'hospital-b', '--json')
    expect(reassigned.code, reassigned.stderr).toBe(0)
    expect(reassigned.json()).toMatchObject({ seq: 7, type: 'reassign', institution: 'agency', to: 'hospital-b' })
    expect(reassigned.json().after).toBeGreaterThanOrEqual(before + 30 * 86_400_000)
    const pending = (await cli('status', '--api', api, '--json')).json().registry
    expect(pending).toMatchObject({ noticeDays: 30, reassignments: [{ institution: 'agency', to: 'hospital-b', after: reassigned.json().after, since: 7 }] })
    expect((await cli('reinstate', ...target, '--institution', 'agency', '--json')).json()).toMatchObject({ seq: 8, type: 'reinstate' })
    const offline = await cli('suspend', '--host-dir', hostDir, '--governance-key', governance, '--institution', 'agency')
    expect(errorCode(offline)).toBe('STORE_LOCKED')
    expect(offline.stderr).toContain('--api')

    const status = await cli('status', '--api', api, '--json')
    expect(status.code).toBe(0)
    expect(status.json()).toMatchObject({ name: 'hospital-a', role: 'examiner', peerId: node.ready.peerId })
    expect(status.json().registry.length).toBe(9)
    expect(status.json().registry.reassignments).toEqual([])
    expect(status.json().registry.institutions.map((i: { id: string, status: string }) => `${i.id}:${i.status}`)).toEqual(['hospital-a:active', 'agency:active', 'hospital-b:active'])
    expect((await cli('status', '--api', api)).stdout).toContain('hospital-a (examiner)')

    // ---- an API key created while the node runs works at once
    const key = (await cli('apikey', 'create', '--dir', hostDir, '--role', 'examiner', '--label', 'cli test', '--json')).json()
    const phraseFile = join(dir, 'alice.json')
    const userId = (await cli('user', 'new', '--out', phraseFile, '--json')).json().userId as string
    const enrolled = await cli('user', 'enrol', '--api', api, '--api-key', key.apiKey, '--phrase-file', phraseFile, '--json')
    expect(enrolled.code, enrolled.stderr).toBe(0)
    expect(enrolled.json()).toMatchObject({ userId, custodian: 'hospital-a', length: 1 })

    // ---- the user writes and reads as the user; staff read too
    const asUser = ['--api', api, '--institution', 'hospital-a', '--phrase-file', phraseFile]
    const exercise = await cli('user', 'write', ...asUser, '--type', 'exercise', '--json', '--data',
      JSON.stringify({ start: '2025-03-01T07:00:00Z', end: '2025-03-01T08:00:00Z', observations: [{ code: '55423-8', value: 6200, unit: '{steps}' }] }))
    expect(exercise.code, exercise.stderr).toBe(0)
    expect(exercise.json()).toMatchObject({ seq: 1, duplicate: false })
    const walk = join(dir, 'walk.json')
    await writeFile(walk, JSON.stringify({ points: [{ lat: 52.52, lon: 13.405, acc: 8, time: Date.now() - 60_000 }] }))
    expect((await cli('user', 'write', ...asUser, '--type', 'location', '--data', `@${walk}`, '--json')).json()).toMatchObject({ seq: 2 })
    const badData = await cli('user', 'write', ...asUser, '--type', 'location', '--data', '{"points":[{"lat":200,"lon":0,"acc":1,"time":0}]}')
    expect(badData.code).toBe(2)
    expect(badData.stderr).toContain('plain.points.0.lat')
    // The login signature is bound to the node's id: one made for hospital-b is refused here.
    const wrongNode = await cli('user', 'write', '--api', api, '--institution', 'hospital-b', '--phrase-file', phraseFile, '--type', 'location', '--data', `@${walk}`)
    expect(wrongNode.code).toBe(1)
    expect(errorCode(wrongNode)).toBe('LOGIN_REFUSED')

    // An exam with a sealed part, written by staff, then read by the user (opened on the device) and by staff.
    const token = await staffLogin(api, key.apiKey)
    const exam = await fetch(`${api}/v1/users/${userId}/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'exam', plain: { title: 'Check-up', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] }, sealed: { notes: 'sealed note' } })
    })
    expect(exam.status).toBe(201)
    const own = await cli('user', 'read', ...asUser, '--json')
    expect(own.code, own.stderr).toBe(0)
    expect(own.json().entries.map((e: { type: string }) => e.type)).toEqual(['exercise', 'location', 'exam'])
    expect(own.json().entries[2].sealed).toEqual({ readable: true, data: { notes: 'sealed note' } })
    const ownText = (await cli('user', 'read', ...asUser)).stdout
    expect(ownText).toContain('(opened on this machine) { "notes": "sealed note" }')
    // Times as people read them in the text output (--json keeps the milliseconds the entry holds).
    expect(ownText).toContain('"start": "2025-03-01T07:00:00.000Z"')
    expect(own.json().entries[0].plain.start).toBe(Date.parse('2025-03-01T07:00:00Z'))
    const staffRead = await cli('user', 'read', '--api', api, '--api-key', key.apiKey, '--user', userId, '--type', 'exam', '--json')
    expect(staffRead.json().entries).toHaveLength(1)
    expect(staffRead.json().entries[0].sealed).toEqual({ readable: true, data: { notes: 'sealed note' } })

    const grant = await cli('user', 'grant', ...asUser, '--examiner', 'hospital-b', '--json')
    expect(grant.code, grant.stderr).toBe(0)
    expect(grant.json()).toMatchObject({ examiner: 'hospital-b', rewrapped: 1 })
    // The codes `phone grant` uses for the same mistakes.
    expect(errorCode(await cli('user', 'grant', ...asUser, '--examiner', 'agency'))).toBe('NOT_AN_EXAMINER')
    expect(errorCode(await cli('user', 'grant', ...asUser, '--examiner', 'hospital-z'))).toBe('UNKNOWN_EXAMINER')

    // ---- the audit log holds the refused login
    const audit = await cli('audit', '--api', api, '--api-key', key.apiKey, '--limit', '200', '--json')
    expect(audit.code, audit.stderr).toBe(0)
    expect(audit.json().lines).toContainEqual(expect.objectContaining({ actor: `user:${userId}`, action: 'login', result: 'refused', code: 'BAD_SIGNATURE' }))
    expect(audit.json().lines).toContainEqual(expect.objectContaining({ actor: 'governance', action: 'registry', result: 'granted' }))
    expect(audit.stdout).not.toContain(key.apiKey)

    // ---- a key revoked while the node runs is refused at once
    expect((await cli('apikey', 'revoke', '--dir', hostDir, '--id', key.id)).code).toBe(0)
    const revoked = await cli('user', 'read', '--api', api, '--api-key', key.apiKey, '--user', userId)
    expect(revoked.code).toBe(1)
    expect(errorCode(revoked)).toBe('REVOKED_KEY')

    // ---- offline commands refuse a running node's store
    const locked = await cli('verify', '--dir', hostDir, '--user', userId)
    expect(errorCode(locked)).toBe('STORE_LOCKED')
    expect(locked.stderr).toContain(`GET /v1/users/${userId}/verify`)
    expect(errorCode(await cli('start', '--config', config))).toBe('STORE_LOCKED')

    // ---- a taken API port is named
    blocker = createServer()
    const port = await new Promise<number>((resolve) => { blocker!.listen(0, '127.0.0.1', () => { resolve((blocker!.address() as { port: number }).port) }) })
    const agencyConfig = join(dir, 'agency.json')
    await writeFile(agencyConfig, JSON.stringify({
      name: 'agency', role: 'inquirer', dataDir: join(dir, 'agency'), api: { host: '127.0.0.1', port }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] }, registryKey: status.json().registry.key
    }))
    const busy = await cli('start', '--config', agencyConfig)
    expect(busy.code).toBe(1)
    expect(errorCode(busy)).toBe('PORT_IN_USE')
    expect(busy.stderr).toContain(String(port))

    // ---- SIGINT: a clean stop, exit 0; then the chain verifies offline
    child!.kill('SIGINT')
    expect(await node.exited).toBe(0)
    expect(node.output()).toContain('hospital-a stopped')
    const verified = await cli('verify', '--dir', hostDir, '--user', userId, '--json')
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.json()).toMatchObject({ valid: true, length: 5 })
  }, 120_000)

  it('says UNREACHABLE when nothing answers', async () => {
    const server = createServer()
    const port = await new Promise<number>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve((server.address() as { port: number }).port) }) })
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    const run = await cli('status', '--api', `http://127.0.0.1:${port}`)
    expect(run.code).toBe(1)
    expect(errorCode(run)).toBe('UNREACHABLE')
    expect(run.stderr).toContain('nothing answers')
  })

  it('says UNREACHABLE, naming the likely mix-up, when something takes the connection but answers no HTTP (a libp2p port)', async () => {
    // As a libp2p listener does with an HTTP request: it reads it, finds no protocol it speaks, and resets.
    const server = createServer((socket) => { socket.once('data', () => { socket.resetAndDestroy() }) })
    const port = await new Promise<number>((resolve) => { server.listen(0, '127.0.0.1', () => { resolve((server.address() as { port: number }).port) }) })
    try {
      const run = await cli('status', '--api', `http://127.0.0.1:${port}`)
      expect(run.code).toBe(1)
      expect(errorCode(run)).toBe('UNREACHABLE')
      expect(run.stderr).toContain('closed it without an HTTP answer')
    } finally {
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  })
})

async function staffLogin (api: string, apiKey: string): Promise<string> {
  const response = await fetch(`${api}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) })
  expect(response.status).toBe(200)
  return ((await response.json()) as { token: string }).token
}
