/**
 * The errors of the packages underneath (core, ledger, net) as the API
 * answers them: every code of every union has a status (the compiler is the
 * real guard: DOMAIN_STATUS satisfies a Record over the unions; this walks
 * the runtime lists as a second one), and codes that once fell through to
 * 500 INTERNAL — a quorum not reached, a store locked by another process —
 * are answered with their own code and a fitting status over real HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CORE_ERROR_CODES, CoreError, isHealthchainError } from '@healthchain/core'
import { LEDGER_ERROR_CODES, LedgerError, type LedgerErrorCode } from '@healthchain/ledger'
import { NET_ERROR_CODES, NetError, REFUSAL_CODES, type NetErrorCode, type RefusalCode } from '@healthchain/net'
import { NODE_ERROR_CODES, NodeError, STATUS_OF, toHttpError, type RouteModule } from '../src/index.js'
import { DOMAIN_STATUS } from '../src/http/errors.js'
import { startTestApi, type TestApi } from './helpers/api.js'

/** A route whose dependency fails with the error the query names, as a service a route calls would. */
const failing: RouteModule = (app) => {
  app.get('/v1/test/fail', {
    schema: { querystring: z.strictObject({ family: z.enum(['ledger', 'net']), code: z.string(), remote: z.string().optional() }) }
  }, async (request) => {
    const { family, code, remote } = request.query
    if (family === 'ledger') throw new LedgerError(code as LedgerErrorCode, `the store in /var/lib/healthchain/store failed: ${code}`)
    throw new NetError(code as NetErrorCode, `the network failed: ${code}`, remote === undefined ? {} : { remoteCode: remote as RefusalCode })
  })
}

let api: TestApi | undefined
afterEach(async () => { await api?.stop(); api = undefined })

describe('domain errors over HTTP', () => {
  it('NO_QUORUM from a route\'s dependency is 503 NO_QUORUM, not 500 INTERNAL', async () => {
    api = await startTestApi({ routes: () => [failing] })
    const res = await api.request('GET', '/v1/test/fail?family=net&code=NO_QUORUM')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({ error: { code: 'NO_QUORUM', message: 'the network failed: NO_QUORUM' } })
  })

  it('STORE_LOCKED is 503 STORE_LOCKED, with a fixed message that names no path', async () => {
    api = await startTestApi({ routes: () => [failing] })
    const res = await api.request('GET', '/v1/test/fail?family=ledger&code=STORE_LOCKED')
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('STORE_LOCKED')
    expect(JSON.stringify(res.body)).not.toContain('/var/lib')
  })

  it('TREE_MISMATCH (a peer\'s data that does not verify) is 502; KEY_FILE (our own files) stays 500 INTERNAL and says nothing', async () => {
    api = await startTestApi({ routes: () => [failing] })
    const mismatch = await api.request('GET', '/v1/test/fail?family=ledger&code=TREE_MISMATCH')
    expect([mismatch.status, mismatch.body.error.code]).toEqual([502, 'TREE_MISMATCH'])
    const keyFile = await api.request('GET', '/v1/test/fail?family=ledger&code=KEY_FILE')
    expect(keyFile.status).toBe(500)
    expect(keyFile.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } })
  })

  it('a custodian\'s refusal is answered with its code; its own INTERNAL, or a code this build does not know, is 502 REFUSED / UNKNOWN_REFUSAL', async () => {
    api = await startTestApi({ routes: () => [failing] })
    const forbidden = await api.request('GET', '/v1/test/fail?family=net&code=REFUSED&remote=ROLE_FORBIDDEN')
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'ROLE_FORBIDDEN'])
    const internal = await api.request('GET', '/v1/test/fail?family=net&code=REFUSED&remote=INTERNAL')
    expect([internal.status, internal.body.error.code]).toEqual([502, 'REFUSED'])
    const unknown = await api.request('GET', '/v1/test/fail?family=net&code=REFUSED&remote=UNKNOWN_REFUSAL')
    expect([unknown.status, unknown.body.error.code]).toEqual([502, 'UNKNOWN_REFUSAL'])
  })
})

describe('the status table', () => {
  it('has a status for every code of core, ledger, net and the refusals, and toHttpError answers it', () => {
    const table: Readonly<Record<string, number>> = DOMAIN_STATUS
    for (const code of new Set([...CORE_ERROR_CODES, ...LEDGER_ERROR_CODES, ...NET_ERROR_CODES, ...REFUSAL_CODES])) {
      expect(table[code], code).toBeGreaterThanOrEqual(400)
    }
    expect(Object.keys(table).sort()).toEqual([...new Set([...LEDGER_ERROR_CODES, ...NET_ERROR_CODES, ...REFUSAL_CODES])].sort())
    for (const code of LEDGER_ERROR_CODES) {
      const answer = toHttpError(new LedgerError(code, 'm'))
      expect(answer.status, code).toBe(table[code])
      expect(answer.code, code).toBe(table[code] === 500 ? 'INTERNAL' : code)
    }
    for (const code of CORE_ERROR_CODES) expect(toHttpError(new CoreError(code, 'm')).status, code).toBe(table[code])
    for (const code of NET_ERROR_CODES) expect(toHttpError(new NetError(code, 'm')).status, code).toBe(table[code])
  })

  it('gives every node code a status, and a code node shares with the packages the same one (one code, one status)', () => {
    const domain: Readonly<Record<string, number>> = DOMAIN_STATUS
    const node: Readonly<Record<string, number>> = STATUS_OF
    expect(Object.keys(node).sort()).toEqual([...NODE_ERROR_CODES].sort())
    for (const code of NODE_ERROR_CODES) {
      if (domain[code] !== undefined) expect(domain[code], code).toBe(node[code])
    }
    expect(toHttpError(new NodeError('LOGIN_REFUSED', 'm')).status).toBe(401)
    expect(toHttpError(new CoreError('BAD_SIGNATURE', 'm')).status).toBe(422)
  })
})

describe('isHealthchainError', () => {
  it('knows every package\'s error, by code when asked, and nothing else', () => {
    const errors = [new CoreError('MALFORMED', 'm'), new LedgerError('CLOSED', 'm'), new NetError('NO_QUORUM', 'm'), new NodeError('INTERNAL', 'm')]
    for (const err of errors) {
      expect(isHealthchainError(err)).toBe(true)
      expect(isHealthchainError(err, err.code)).toBe(true)
      expect(isHealthchainError(err, 'SOMETHING_ELSE')).toBe(false)
    }
    // Same name and code, but not one of ours: a name is no proof.
    const impostor = Object.assign(new Error('m'), { name: 'CoreError', code: 'MALFORMED' })
    expect(isHealthchainError(impostor)).toBe(false)
    expect(isHealthchainError(undefined)).toBe(false)
    expect(isHealthchainError({ code: 'MALFORMED' })).toBe(false)
  })
})
