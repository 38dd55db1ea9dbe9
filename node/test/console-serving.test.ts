/**
 * The web console at `/` on the API's origin: files of a build in a temporary folder (given through the config, as
 * `console.dir` or HEALTHCHAIN_CONSOLE_DIR), index.html for client-side routes, no way out of the folder, the API's
 * own paths untouched, caching headers, the security headers on every answer, and a clear 503 without a build.
 */
import { request as httpRequest } from 'node:http'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS, defaultConsoleDir, parseConfig, registerConsoleRoutes } from '../src/index.js'
import { startTestApi, type TestApi } from './helpers/api.js'
import { startConsortium } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

const INDEX = '<!doctype html><title>healthchain</title><script type="module" src="/assets/index-3f2a1b.js"></script>'
const SCRIPT = 'console.log("console")'

let dir: string
let api: TestApi | undefined

beforeEach(async () => {
  dir = await makeTempDir('healthchain-console-')
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true })
  await writeFile(join(dir, 'dist', 'index.html'), INDEX)
  await writeFile(join(dir, 'dist', 'assets', 'index-3f2a1b.js'), SCRIPT)
  await writeFile(join(dir, 'dist', 'assets', 'index-9c8d7e.css'), 'body{margin:0}')
  await writeFile(join(dir, 'dist', 'manifest.webmanifest'), '{"name":"healthchain"}')
  await writeFile(join(dir, 'dist', 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  await writeFile(join(dir, 'dist', 'logo.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47]))
  await writeFile(join(dir, 'secret.json'), '{"secret":true}')
})

afterEach(async () => {
  await api?.stop()
  api = undefined
  await removeDir(dir)
})

/** The console as the daemon configures it: the folder from the config (relative to the config file's directory). */
async function startConsole (): Promise<TestApi> {
  const config = parseConfig({ name: 'hospital-a', role: 'examiner', dataDir: 'data', console: { dir: 'dist' } }, { baseDir: dir })
  expect(config.console).toEqual({ enabled: true, dir: join(dir, 'dist') })
  api = await startTestApi({ routes: () => [(app) => { registerConsoleRoutes(app, { dir: config.console.dir }) }] })
  return api
}

/** A request with the path exactly as written (fetch would normalise `/../` away before sending it). */
async function rawGet (url: string, path: string): Promise<{ status: number, body: string, headers: Record<string, unknown> }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url + '/', { method: 'GET', path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, headers: res.headers }) })
    })
    req.on('error', reject)
    req.end()
  })
}

function expectSecurityHeaders (headers: Headers | Record<string, unknown>): void {
  const get = (name: string): unknown => headers instanceof Headers ? headers.get(name) : headers[name]
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(get(name), name).toBe(value)
}

describe('the console\'s files', () => {
  it('serves index.html at / and for client-side routes, each file with its content type and caching', async () => {
    const { request } = await startConsole()
    for (const path of ['/', '/patient', '/staff/enrol/', '/auditor/chains/abc?tab=verify']) {
      const reply = await request('GET', path)
      expect(reply.status, path).toBe(200)
      expect(reply.body, path).toBe(INDEX)
      expect(reply.headers.get('content-type'), path).toBe('text/html; charset=utf-8')
      expect(reply.headers.get('cache-control'), path).toBe('no-cache')
    }
    const script = await request('GET', '/assets/index-3f2a1b.js')
    expect(script.body).toBe(SCRIPT)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const types: Array<[string, string]> = [
      ['/assets/index-9c8d7e.css', 'text/css; charset=utf-8'],
      ['/manifest.webmanifest', 'application/manifest+json'],
      ['/icon.svg', 'image/svg+xml'],
      ['/logo.png', 'image/png']
    ]
    for (const [path, type] of types) {
      const reply = await request('GET', path)
      expect(reply.status, path).toBe(200)
      expect(reply.headers.get('content-type'), path).toBe(type)
      expect(reply.headers.get('cache-control'), path).toBe(path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
    }
  })

  it('answers HEAD without a body, and a conditional GET with 304', async () => {
    const { request, url } = await startConsole()
    const head = await fetch(`${url}/assets/index-3f2a1b.js`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(SCRIPT.length))
    expect(await head.text()).toBe('')
    const first = await request('GET', '/')
    const etag = first.headers.get('etag')
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/)
    expect(first.headers.get('last-modified')).not.toBeNull()
    const again = await request('GET', '/', { headers: { 'if-none-match': etag! } })
    expect(again.status).toBe(304)
    expect(again.body).toBe('')
    const since = await request('GET', '/icon.svg', { headers: { 'if-modified-since': first.headers.get('last-modified')! } })
    expect(since.status).toBe(304)
    const stale = await request('GET', '/', { headers: { 'if-none-match': 'W/"0-0"' } })
    expect(stale.status).toBe(200)
  })

  it('never serves a file outside the folder, however the path is written', async () => {
    const { url, request } = await startConsole()
    await symlink(join(dir, 'secret.json'), join(dir, 'dist', 'linked.json'))
    const paths = [
      '/../secret.json', '/assets/../../secret.json', '/%2e%2e/secret.json', '/%2E%2E%2Fsecret.json', '/assets/%2e%2e/%2e%2e/secret.json',
      `/${encodeURIComponent(join(dir, 'secret.json'))}`, `/${join(dir, 'secret.json')}`, '//etc/passwd', '/..%5csecret.json',
      '/assets/..%2f..%2fsecret.json', '/.%00./secret.json', '/linked.json', '/.hidden'
    ]
    for (const path of paths) {
      const reply = await rawGet(url, path)
      expect(reply.body, path).not.toContain('secret')
      expect(reply.body, path).not.toContain('root:')
      expect(reply.status, path).toBe(404)
      expect(JSON.parse(reply.body).error.code, path).toBe('NOT_FOUND')
    }
    // A missing file with an extension is not a route: no index.html in place of a script.
    const missing = await request('GET', '/assets/gone-000000.js')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('NOT_FOUND')
  })

  it('leaves /v1/ and /metrics to the API: an unknown API path is still its JSON 404', async () => {
    const { request, url } = await startConsole()
    for (const path of ['/v1/unknown', '/v1', '/v1/users/x/y/z', '/metrics', '/metrics/x']) {
      const reply = await request('GET', path)
      expect(reply.status, path).toBe(404)
      expect(reply.headers.get('content-type'), path).toBe('application/json; charset=utf-8')
      expect(reply.body.error.code, path).toBe('NOT_FOUND')
    }
    const head = await fetch(`${url}/v1/unknown`, { method: 'HEAD' })
    expect(head.status).toBe(404)
    const status = await request('GET', '/v1/status')
    expect(status.status).toBe(200)
    expect(status.body.name).toBe('hospital-a')
    // Other methods are never the console's.
    expect((await request('POST', '/', { body: {} })).body.error.code).toBe('NOT_FOUND')
  })

  it('puts the security headers on every answer: the console\'s, the API\'s, refusals and errors', async () => {
    const { request, url } = await startConsole()
    expect(SECURITY_HEADERS['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; " +
      "manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    const replies = [
      await request('GET', '/'),
      await request('GET', '/assets/index-3f2a1b.js'),
      await request('GET', '/v1/status'),
      await request('GET', '/v1/unknown'),
      await request('GET', '/v1/audit'), // 401: no token
      await request('POST', '/v1/session', { body: { apiKey: 'nope' } }) // 400
    ]
    for (const reply of replies) expectSecurityHeaders(reply.headers)
    // An invalid URL is refused before routing, by the framework's error handler.
    const bad = await rawGet(url, '/%E0%A4%A')
    expect(bad.status).toBe(400)
    expectSecurityHeaders(bad.headers)
    expect(replies[2]!.headers.get('cache-control')).toBe('no-store')
  })
})

describe('without a build', () => {
  it('answers 503 CONSOLE_NOT_BUILT saying how to build it, on / and on routes, and the API still works', async () => {
    await rm(join(dir, 'dist', 'index.html'))
    const { request } = await startConsole()
    for (const path of ['/', '/patient', '/assets/index-3f2a1b.js']) {
      const reply = await request('GET', path)
      expect(reply.status, path).toBe(503)
      expect(reply.body.error.code, path).toBe('CONSOLE_NOT_BUILT')
      expect(reply.body.error.message, path).toContain('npm run build:console')
      expect(reply.body.error.message, path).not.toContain(dir)
      expectSecurityHeaders(reply.headers)
    }
    expect((await request('GET', '/v1/status')).status).toBe(200)
  })
})

describe('the console in the config and the daemon', () => {
  it('takes the folder from HEALTHCHAIN_CONSOLE_DIR, and defaults to the console workspace\'s dist', () => {
    const fromEnv = parseConfig({ name: 'hospital-a', role: 'examiner', dataDir: '/d' }, { baseDir: '/etc', env: { HEALTHCHAIN_CONSOLE_DIR: dir } })
    expect(fromEnv.console.dir).toBe(dir)
    const off = parseConfig({ name: 'hospital-a', role: 'examiner', dataDir: '/d' }, { baseDir: '/etc', env: { HEALTHCHAIN_CONSOLE_ENABLED: 'false' } })
    expect(off.console.enabled).toBe(false)
    expect(defaultConsoleDir()).toMatch(/[/\\]console[/\\]dist$/)
  })

  it('a daemon serves the folder its config names, with the headers; disabled, / is the API\'s 404', async () => {
    const served = await startConsortium([['hospital-a', 'examiner']], { config: { console: { dir: join(dir, 'dist') } } })
    try {
      const node = served.node('hospital-a')
      const page = await fetch(`${node.url}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toBe(INDEX)
      expectSecurityHeaders(page.headers)
    } finally {
      await served.close()
    }
    const off = await startConsortium([['hospital-a', 'examiner']], { config: { console: { enabled: false, dir: join(dir, 'dist') } } })
    try {
      const reply = await fetch(`${off.node('hospital-a').url}/`)
      expect(reply.status).toBe(404)
      expect(((await reply.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
      expectSecurityHeaders(reply.headers)
    } finally {
      await off.close()
    }
  })
})
