/**
 * Requests refused before any route sees them, over real sockets: a
 * malformed HTTP request, an invalid URL, an over-long path segment, headers
 * too large, a request that never arrives in full — each answered in the
 * API's error shape (`{ error: { code, message } }`, no-store), never
 * echoing the client's input, and never hanging. Then the order of the
 * guard: the token before the body is read (401, not 400, without one), the
 * role before the body is validated, and bad input under a valid token
 * logged under its holder. And the audit route's numbers: plain digits only.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BEARER_SECURITY, createAuditService, requireAuth, type RouteModule } from '../src/index.js'
import { registerAuditRoutes } from '../src/http/routes/audit.js'
import { startTestApi, type TestApi, type TestApiParts } from './helpers/api.js'

function routes (parts: TestApiParts): RouteModule[] {
  return [
    (app) => { registerAuditRoutes(app, { sessions: parts.sessions, audit: createAuditService({ audit: parts.audit }) }) },
    (app) => {
      app.post('/v1/test/things/:id', {
        ...requireAuth(parts.sessions, { roles: ['examiner'], action: 'write', target: (r) => `thing:${(r.params as { id: string }).id}` }),
        schema: { params: z.strictObject({ id: z.string().regex(/^[a-z]{1,8}$/) }), body: z.strictObject({ n: z.int() }), security: BEARER_SECURITY }
      }, async () => ({ ok: true }))
      app.post('/v1/test/regulators/:id', {
        ...requireAuth(parts.sessions, { roles: ['regulator'], action: 'write', target: (r) => `thing:${(r.body as { id?: string } | undefined)?.id ?? '(unknown)'}` }),
        schema: { body: z.strictObject({ id: z.string(), n: z.int() }), security: BEARER_SECURITY }
      }, async () => ({ ok: true }))
    }
  ]
}

interface RawAnswer {
  readonly status: number
  readonly headers: string
  readonly body: any
  /** Milliseconds until the server answered or closed. */
  readonly ms: number
}

/** Writes `request` as bytes on a fresh connection and reads until the server closes it (or `timeoutMs`). */
async function raw (api: TestApi, request: string, timeoutMs = 5000): Promise<RawAnswer> {
  const { port } = new URL(api.url)
  const started = Date.now()
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')) })
    socket.write(request)
  })
  const [head = '', ...rest] = text.split('\r\n\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
  let body: unknown = rest.join('\r\n\r\n')
  try { body = JSON.parse(body as string) } catch {}
  return { status, headers: head.toLowerCase(), body, ms: Date.now() - started }
}

function expectRefusal (answer: { status: number, body: any }, status: number, code: string): void {
  expect(answer.status).toBe(status)
  expect(Object.keys(answer.body)).toEqual(['error'])
  expect(answer.body.error.code).toBe(code)
  expect(typeof answer.body.error.message).toBe('string')
}

let api: TestApi
afterEach(async () => { await api?.stop() })

describe('requests refused before routing', () => {
  it('malformed HTTP is 400 MALFORMED_REQUEST in the API\'s shape, and the connection is closed', async () => {
    api = await startTestApi({ routes })
    const cases = [
      'FOO /v1/status HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /v1/status HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
      'POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x01b\r\n\r\n'
    ]
    for (const request of cases) {
      const answer = await raw(api, request)
      expectRefusal(answer, 400, 'MALFORMED_REQUEST')
      expect(answer.headers).toContain('cache-control: no-store')
      expect(answer.headers).toContain('connection: close')
    }
    expect(await api.auditLines()).toEqual([])
  })

  it('an invalid URL is 400 MALFORMED_REQUEST and an over-long path segment 414 URI_TOO_LONG, neither echoing the path', async () => {
    api = await startTestApi({ routes })
    const bad = await api.request('GET', '/v1/users/%zz-secret-looking/entries')
    expectRefusal(bad, 400, 'MALFORMED_REQUEST')
    expect(JSON.stringify(bad.body)).not.toContain('secret-looking')
    expect(bad.headers.get('cache-control')).toBe('no-store')
    const long = await api.request('POST', `/v1/test/things/${'a'.repeat(101)}`, { body: { n: 1 } })
    expectRefusal(long, 414, 'URI_TOO_LONG')
    expect(JSON.stringify(long.body)).not.toContain('a'.repeat(101))
  })

  it('headers too large are 431 HEADERS_TOO_LARGE in the API\'s shape', async () => {
    api = await startTestApi({ routes })
    const answer = await raw(api, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'t'.repeat(20_000)}\r\n\r\n`)
    expectRefusal(answer, 431, 'HEADERS_TOO_LARGE')
  })

  it('a guarded write refused before its body was read is answered once and its connection closed: no stray 408 later', async () => {
    api = await startTestApi({ routes, requestTimeoutMs: 400 })
    const answer = await raw(api, 'POST /v1/test/things/abc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"n":')
    expectRefusal(answer, 401, 'MISSING_TOKEN')
    expect(answer.headers).toContain('connection: close')
    expect(answer.ms).toBeLessThan(400)
    // Exactly one answer came on the connection before it closed.
    expect(JSON.stringify(answer.body)).not.toContain('HTTP/1.1')
  })

  it('a body sent only in part is 408 REQUEST_TIMEOUT once the request time is up: the connection is not held forever', async () => {
    api = await startTestApi({ routes, requestTimeoutMs: 400 })
    const answer = await raw(api, 'POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":')
    expectRefusal(answer, 408, 'REQUEST_TIMEOUT')
    expect(answer.ms).toBeGreaterThanOrEqual(400)
    // Nothing of it reached the login route.
    expect(await api.auditLines()).toEqual([])
  })
})

describe('the guard\'s order', () => {
  async function staff (): Promise<{ token: string, id: string }> {
    const { apiKey, record } = await api.apiKeys.create('staff', 'examiner')
    const login = await api.request('POST', '/v1/session', { body: { apiKey } })
    return { token: login.body.token, id: record.id }
  }

  it('without a token: 401 whatever the body or query, before the body is read, logged as anonymous', async () => {
    api = await startTestApi({ routes })
    expectRefusal(await api.request('POST', '/v1/test/things/abc', { body: '{not json', contentType: 'application/json' }), 401, 'MISSING_TOKEN')
    expectRefusal(await api.request('POST', '/v1/test/things/abc', { body: { wrong: 'shape' } }), 401, 'MISSING_TOKEN')
    expectRefusal(await api.request('GET', '/v1/audit?limit=0'), 401, 'MISSING_TOKEN')
    expectRefusal(await api.request('GET', '/v1/audit', { token: 'hct_forged' }), 401, 'MALFORMED_TOKEN')
    const lines = await api.auditLines()
    expect(lines.map((l) => [l.actor, l.result, l.code])).toEqual([
      ['anonymous', 'refused', 'MISSING_TOKEN'], ['anonymous', 'refused', 'MISSING_TOKEN'],
      ['anonymous', 'refused', 'MISSING_TOKEN'], ['anonymous', 'refused', 'MALFORMED_TOKEN']
    ])
  })

  it('with a valid token: bad input is 400 logged under its holder; a wrong role is 403 before validation, its line naming the target', async () => {
    api = await startTestApi({ routes })
    const { token, id } = await staff()
    const before = (await api.auditLines()).length
    const bad = await api.request('POST', '/v1/test/things/abc', { token, body: { n: 'one' } })
    expectRefusal(bad, 400, 'BAD_REQUEST')
    expect(bad.body.error.field).toBe('body.n')
    const forbidden = await api.request('POST', '/v1/test/regulators/x', { token, body: { id: 'target', n: 'not even valid' } })
    expectRefusal(forbidden, 403, 'FORBIDDEN')
    const lines = (await api.auditLines()).slice(before)
    expect(lines).toMatchObject([
      { actor: `key:${id}`, role: 'examiner', result: 'refused', code: 'BAD_REQUEST', target: 'thing:abc' },
      { actor: `key:${id}`, role: 'examiner', result: 'refused', code: 'FORBIDDEN', target: 'thing:target' }
    ])
  })

  it('the audit route takes plain digits only: empty, hex, binary, exponent and padded numbers are 400', async () => {
    api = await startTestApi({ routes })
    const { token } = await staff()
    for (const query of ['start=', 'start=%20', 'start=0x10', 'start=0b11', 'start=1e3', 'limit=', 'limit=1.5', 'limit=0', 'limit=-1']) {
      const answer = await api.request('GET', `/v1/audit?${query}`, { token })
      expectRefusal(answer, 400, 'BAD_REQUEST')
    }
    const ok = await api.request('GET', '/v1/audit?start=0&limit=2', { token })
    expect(ok.status).toBe(200)
    expect(ok.body.lines.map((l: { seq: number }) => l.seq)).toEqual([0, 1])
  })
})
