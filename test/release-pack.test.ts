/**
 * The release: `npm run build`, then `npm pack` of core, ledger, net, client
 * and node, installed into an empty folder with no network (the npm cache
 * only; see helpers/release-install.ts), where the installed `healthchain`
 * command runs the compiled code: --version, `keys create` (sodium-native,
 * owner-only files) and a dev network (the ledger on rocksdb, the SQLite
 * query index, libp2p) until it is ready, then stopped with SIGINT.
 *
 * Slow for a test: a build, five packs and an install take about a minute
 * on two cores with the build up to date, two to three from a clean clone
 * (the cold `tsc -b`). So it runs apart from `npm test`, through `npm run
 * test:release` (HEALTHCHAIN_RELEASE_TEST=1), as the console's screenshots
 * do; the bin's refusal below is quick and always runs.
 */
import { execFile, spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { packRelease, writeReleaseLock } from './helpers/release-install.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
// The installed command must not see the repository's sources or its source condition.
const cleanEnv = { ...process.env, NODE_OPTIONS: '', HEALTHCHAIN_RUN: '' }
let work: string | undefined

afterAll(async () => { if (work !== undefined) await rm(work, { recursive: true, force: true }) })

async function portFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => { server.close(() => { resolve(true) }) })
  })
}

/** A base port whose dev range (API +0..3, libp2p TCP +10..13, WebSockets +20..23) is free now. */
async function freeBasePort (): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    let free = true
    for (let port = base; port < base + 24 && free; port++) free = await portFree(port)
    if (free) return base
  }
  throw new Error('no free port range found')
}

/** Runs the installed dev network until it says it is ready, then SIGINT; resolves with its exit code and output. */
async function devUntilReady (bin: string, cwd: string, dir: string, basePort: number): Promise<{ code: number | null, ready: boolean, out: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(bin, ['dev', '--dir', dir, '--base-port', String(basePort)], { cwd, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let ready = false
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 90_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (!ready && out.includes('dev network ready')) {
        ready = true
        child.kill('SIGINT')
      }
    })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, ready, out }) })
  })
}

describe.runIf(process.env.HEALTHCHAIN_RELEASE_TEST === '1')('the release (npm run build, npm pack, an offline install)', () => {
  it('packs each package with its compiled code only, installs into an empty folder, and the installed healthchain runs', async () => {
    await run('npm', ['run', '--silent', 'build'], { cwd: root })
    work = await mkdtemp(join(tmpdir(), 'healthchain-release-'))
    const app = join(work, 'app')
    await mkdir(app)

    const tarballs = await packRelease(root, app)
    for (const t of tarballs) {
      expect(t.files, t.name).toContain('package.json')
      expect(t.files, t.name).toContain('README.md')
      expect(t.files, t.name).toContain('dist/index.js')
      expect(t.files, t.name).toContain('dist/index.d.ts')
      // No sources, tests or build state: the published package is the build.
      expect(t.files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.tsbuildinfo')), t.name).toEqual([])
    }
    expect(tarballs.find((t) => t.name === '@healthchain/node')!.files).toContain('dist/cli/main.js')

    await writeReleaseLock(root, app, tarballs)
    // --ignore-scripts: better-sqlite3's install script would fetch a prebuilt binary or Node's headers; offline, the
    // binary the repository's own install built (same machine, same Node) is copied in instead.
    await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env: cleanEnv })
    const sqliteBuild = join('node_modules', 'better-sqlite3', 'build', 'Release')
    await mkdir(join(app, sqliteBuild), { recursive: true })
    await copyFile(join(root, sqliteBuild, 'better_sqlite3.node'), join(app, sqliteBuild, 'better_sqlite3.node'))

    // The installed tree: the compiled packages, and no tsx (a development tool only).
    const installed = join(app, 'node_modules', '@healthchain')
    expect((await readdir(installed)).sort()).toEqual(['client', 'core', 'ledger', 'net', 'node'])
    await expect(stat(join(installed, 'node', 'src'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(join(app, 'node_modules', 'tsx'))).rejects.toMatchObject({ code: 'ENOENT' })

    const bin = join(app, 'node_modules', '.bin', 'healthchain')
    const version = await run(bin, ['--version'], { cwd: app, env: cleanEnv })
    expect(version.stdout.trim()).toBe('0.1.0')

    const keys = await run(bin, ['keys', 'create', '--dir', join(work, 'hospital'), '--json'], { cwd: app, env: cleanEnv })
    expect(JSON.parse(keys.stdout)).toHaveProperty('peerId')
    expect((await stat(join(work, 'hospital', 'keys'))).mode & 0o077).toBe(0)

    const dev = await devUntilReady(bin, app, join(work, 'dev'), await freeBasePort())
    expect(dev.ready, dev.out.slice(-2000)).toBe(true)
    expect(dev.code, dev.out.slice(-2000)).toBe(0)
  }, 300_000)
})

describe('the healthchain bin without a build', () => {
  it('a checkout without a build refuses HEALTHCHAIN_RUN=dist with a clear error, not a stack trace', async () => {
    // A copy of the bin with neither src/ nor dist/ beside it: what a fresh clone's bin finds when asked for the build.
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-nobuild-'))
    try {
      await mkdir(join(dir, 'bin'))
      await copyFile(join(root, 'node', 'bin', 'healthchain.mjs'), join(dir, 'bin', 'healthchain.mjs'))
      const failed = await run(process.execPath, [join(dir, 'bin', 'healthchain.mjs'), '--version'], { env: { ...cleanEnv, HEALTHCHAIN_RUN: 'dist' } })
        .then(() => undefined, (err: { code: number, stderr: string }) => err)
      expect(failed?.code).toBe(1)
      expect(failed?.stderr).toMatch(/^error NOT_BUILT: /)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
