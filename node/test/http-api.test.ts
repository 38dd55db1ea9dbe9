/**
 * The HTTP skeleton over real HTTP: the error contract for bad input of
 * every kind, requireAuth (401 for missing, malformed, forged, expired and
 * revoked tokens; 403 for a role; audit lines for each), the status route,
 * the OpenAPI document, and failures that must not leak or pass unaudited.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, fromHex } from '@healthchain/core'
import { z } from 'zod'
import { BEARER_SECURITY, requireAuth, sessionOf, signLogin, type RouteModule } from '../src/index.js'
import { NODE_NAME, STUB_STATUS, startTestApi, TOKEN_TTL_MS, type TestApi, type TestApiParts } from './helpers/api.js'
import { crypto, newUser } from './helpers/fixtures.js'

/** Route modules as later issues will add them: guarded, audited, thin. */
function testRoutes (parts: TestApiParts): RouteModule[] {
  return [(app) => {
    app.get('/v1/test/records/:id', {
      ...requireAuth(parts.sessions, { roles: ['examiner', 'user'], action: 'read', target: (r) => `record:${(r.params as { id: string }).id}` }),
      schema: {
        params: z.strictObject({ id: z.string().regex(/^[a-z0-9-]{1,32}$/) }),
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() }),
        security: BEARER_SECURITY
      }
    }, async (request) => {
      const session = sessionOf(request)
      return { id: request.params.id, limit: request.query.limit ?? null, subject: session.subject }
    })
    app.post('/v1/test/regulator-only', {
      ...requireAuth(parts.sessions, { roles: ['regulator'], action: 'write' }),
      schema: { body: z.strictObject({ n: z.int() }) }
    }, async () => ({ ok: true }))
    app.get('/v1/test/crash', { schema: { querystring: z.strictObject({}) } }, async () => {
      throw new Error('database password is hunter2, at /var/secret/path')
    })
  }]
}

let api: TestApi
afterEach(async () => { await api?.stop() })

async function staffToken (): Promise<{ token: string, id: string }> {
  const { apiKey, record } = await api.apiKeys.create('staff', 'examiner')
  const res = await api.request('POST', '/v1/session', { body: { apiKey } })
  expect(res.status).toBe(200)
  return { token: res.body.token, id: record.id }
}

async function userToken (): Promise<{ token: string, userId: string }> {
  const user = newUser()
  api.userKeys.set(user.userId, user.sign.publicKey)
  const { body: { challenge } } = await api.request('POST', '/v1/session/challenge', { body: { userId: user.userId } })
  const signature = bytesToHex(signLogin(NODE_NAME, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto))
  const res = await api.request('POST', '/v1/session', { body: { userId: user.userId, challenge, signature } })
  expect(res.status).toBe(200)
  return { token: res.body.token, userId: user.userId }
}

async function linesAfter (n: number) {
  return (await api.auditLines()).slice(n)
}

describe('requireAuth', () => {
  it('admits a token of an allowed role and audits the read with its target', async () => {
    api = await startTestApi({ routes: testRoutes })
    const { token, id } = await staffToken()
    const before = api.audit.length
    const res = await api.request('GET', '/v1/test/records/r-1?limit=5', { token })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: 'r-1', limit: 5, subject: id })
    expect(await linesAfter(before)).toEqual([{
      v: 1, time: expect.any(String), actor: `key:${id}`, role: 'examiner', action: 'read', target: 'record:r-1', from: '127.0.0.1', result: 'granted'
    }])
  })

  it('401 for a missing, malformed, forged or expired token, each with a refused line', async () => {
    api = await startTestApi({ routes: testRoutes })
    const { token } = await staffToken()
    const forged = 'hct_' + 'A'.repeat(43)
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'MISSING_TOKEN'],
      [{ authorization: `Basic ${token}` }, 'MALFORMED_TOKEN'],
      [{ authorization: 'Bearer not-a-token' }, 'MALFORMED_TOKEN'],
      [{ authorization: `Bearer ${forged}` }, 'UNKNOWN_TOKEN']
    ]
    for (const [headers, code] of cases) {
      const before = api.audit.length
      const res = await api.request('GET', '/v1/test/records/r-2', { headers })
      expect(res.status, code).toBe(401)
      expect(res.body.error.code).toBe(code)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
      expect(await linesAfter(before)).toEqual([{
        v: 1, time: expect.any(String), actor: 'anonymous', action: 'read', target: 'record:r-2', from: '127.0.0.1', result: 'refused', code
      }])
    }

    api.clock.advance(TOKEN_TTL_MS)
    const before = api.audit.length
    const expired = await api.request('GET', '/v1/test/records/r-2', { token })
    expect(expired.status).toBe(401)
    expect(expired.body.error.code).toBe('EXPIRED_TOKEN')
    expect((await linesAfter(before))[0]).toMatchObject({ actor: 'anonymous', result: 'refused', code: 'EXPIRED_TOKEN' })
  })

  it('401 REVOKED_KEY once the token\'s API key is revoked (also by another process)', async () => {
    api = await startTestApi({ routes: testRoutes })
    const { token, id } = await staffToken()
    expect((await api.request('GET', '/v1/test/records/r-3', { token })).status).toBe(200)
    const { ApiKeyStore } = await import('../src/index.js')
    const cli = await ApiKeyStore.open(api.layout.apiKeysFile)
    await cli.revoke(id)
    const res = await api.request('GET', '/v1/test/records/r-3', { token })
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('REVOKED_KEY')
    // The token is gone for good.
    expect((await api.request('GET', '/v1/test/records/r-3', { token })).body.error.code).toBe('UNKNOWN_TOKEN')
  })

  it('403 FORBIDDEN for a role the route does not allow, audited with who it was', async () => {
    api = await startTestApi({ routes: testRoutes })
    const { token, userId } = await userToken()
    const before = api.audit.length
    const res = await api.request('POST', '/v1/test/regulator-only', { token, body: { n: 1 } })
    expect(res.status).toBe(403)
    expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } })
    expect(await linesAfter(before)).toEqual([{
      v: 1, time: expect.any(String), actor: `user:${userId}`, role: 'user', action: 'write', from: '127.0.0.1', result: 'refused', code: 'FORBIDDEN'
    }])
    // Users may use the route that allows them.
    expect((await api.request('GET', '/v1/test/records/mine', { token })).status).toBe(200)
  })

  it('a path parameter that cannot go into a line is audited as (invalid)', async () => {
    api = await startTestApi({ routes: testRoutes })
    const { token } = await staffToken()
    const before = api.audit.length
    const res = await api.request('GET', `/v1/test/records/${encodeURIComponent('hck_0123456789abcdef_x')}`, { token })
    expect(res.status).toBe(400)
    expect(await linesAfter(before)).toEqual([expect.objectContaining({ target: '(invalid)', result: 'refused', code: 'BAD_REQUEST' })])
  })
})

describe('errors', () => {
  it('malformed JSON, wrong types, unknown fields, empty and oversized bodies, other media types, unknown routes', async () => {
    api = await startTestApi({ bodyLimit: 2048, routes: testRoutes })
    const cases: Array<[string, string, Parameters<TestApi['request']>[2], number, string, string?]> = [
      ['malformed JSON', '/v1/session', { body: '{"apiKey": ' }, 400, 'MALFORMED_JSON'],
      ['empty JSON body', '/v1/session', { body: '' }, 400, 'MALFORMED_JSON'],
      ['wrong type', '/v1/session', { body: { apiKey: 42 } }, 400, 'BAD_REQUEST', 'body.apiKey'],
      ['wrong type in the user form', '/v1/session', { body: { userId: 'a'.repeat(32), challenge: 'ab'.repeat(32), signature: 7 } }, 400, 'BAD_REQUEST', 'body.signature'],
      ['unknown field', '/v1/session', { body: { apiKey: 'x', admin: true } }, 400, 'BAD_REQUEST', 'body.admin'],
      ['neither form', '/v1/session', { body: {} }, 400, 'BAD_REQUEST', 'body.apiKey'],
      ['not an object', '/v1/session', { body: [1, 2] }, 400, 'BAD_REQUEST', 'body'],
      ['bad user id', '/v1/session/challenge', { body: { userId: 'ALICE' } }, 400, 'BAD_REQUEST', 'body.userId'],
      ['oversized body', '/v1/session', { body: { apiKey: 'x'.repeat(4096) } }, 413, 'PAYLOAD_TOO_LARGE'],
      ['text body', '/v1/session', { body: 'apiKey=x', contentType: 'text/plain' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['form body', '/v1/session', { body: 'apiKey=x', contentType: 'application/x-www-form-urlencoded' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['prototype poisoning', '/v1/session', { body: '{"apiKey":"x","__proto__":{"admin":true}}' }, 400, 'MALFORMED_JSON'],
      ['unknown query parameter', '/v1/status?debug=1', undefined, 400, 'BAD_REQUEST', 'query.debug'],
      ['unknown route', '/v1/nothing-here', undefined, 404, 'NOT_FOUND'],
      ['unknown method on a route', '/v1/status', { body: {} }, 404, 'NOT_FOUND']
    ]
    for (const [name, path, opts, status, code, field] of cases) {
      const method = opts?.body === undefined ? 'GET' : (name === 'unknown method on a route' ? 'PUT' : 'POST')
      const res = await api.request(method, path, opts)
      expect(res.status, name).toBe(status)
      expect(res.body, name).toEqual({ error: { code, message: expect.any(String), ...(field === undefined ? {} : { field }) } })
      if (field !== undefined) expect(res.body.error.message.startsWith(`${field}: `), name).toBe(true)
    }
  })

  it('every malformed login attempt is audited as refused too', async () => {
    api = await startTestApi()
    await api.request('POST', '/v1/session', { body: '{"apiKey": ' })
    await api.request('POST', '/v1/session', { body: { apiKey: 42 } })
    expect((await api.auditLines()).map((l) => [l.action, l.actor, l.result, l.code])).toEqual([
      ['login', 'anonymous', 'refused', 'MALFORMED_JSON'],
      ['login', 'anonymous', 'refused', 'BAD_REQUEST']
    ])
  })

  it('an unexpected error is 500 INTERNAL and says nothing of its cause', async () => {
    api = await startTestApi({ routes: testRoutes })
    const res = await api.request('GET', '/v1/test/crash')
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } })
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|secret|at /)
  })

  it('when the audit line cannot be written, the answer is 500 and carries no token', async () => {
    api = await startTestApi({ auditSink: { append: async () => { throw new Error('disk full') } } })
    const { apiKey } = await api.apiKeys.create('x', 'examiner')
    const res = await api.request('POST', '/v1/session', { body: { apiKey } })
    expect(res.status).toBe(500)
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } })
  })
})

describe('status and OpenAPI', () => {
  it('GET /v1/status answers the provider\'s fields with the node\'s name and role', async () => {
    api = await startTestApi({ role: 'regulator' })
    const res = await api.request('GET', '/v1/status')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ name: NODE_NAME, role: 'regulator', ...STUB_STATUS })
    expect(api.audit.length).toBe(0)
  })

  it('GET /v1/openapi.json lists every route with its schemas', async () => {
    api = await startTestApi({ routes: testRoutes })
    const res = await api.request('GET', '/v1/openapi.json')
    expect(res.status).toBe(200)
    const doc = res.body
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/v1/openapi.json', '/v1/session', '/v1/session/challenge', '/v1/status',
      '/v1/test/crash', '/v1/test/records/{id}', '/v1/test/regulator-only'
    ])
    const login = doc.paths['/v1/session'].post
    const body = login.requestBody.content['application/json'].schema
    expect(JSON.stringify(body)).toContain('apiKey')
    expect(JSON.stringify(body)).toContain('signature')
    expect(Object.keys(login.responses)).toEqual(expect.arrayContaining(['200', '4XX', '5XX']))
    expect(doc.paths['/v1/status'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('replicationLag')
    expect(doc.paths['/v1/test/records/{id}'].get.security).toEqual([{ bearer: [] }])
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' })
  })
})

describe('validation messages', () => {
  it('name the field of the form the caller meant', async () => {
    api = await startTestApi()
    const field = async (body: unknown): Promise<string> => (await api.request('POST', '/v1/session', { body })).body.error.field
    expect(await field({ userId: 'x' })).toBe('body.userId')
    expect(await field({ userId: 'a'.repeat(32), challenge: 'ab'.repeat(32) })).toBe('body.signature')
    expect(await field({ apiKey: '' })).toBe('body.apiKey')
    expect(await field({ apiKey: 'x', userId: 'a'.repeat(32) })).toBe('body.userId')
  })
})
