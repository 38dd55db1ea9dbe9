/**
 * The log, /metrics and /readyz of a real node against an outsider on the
 * network: a token in the Authorization header, in the query string or in a
 * malformed body, health data in a FHIR body that does not parse, user ids
 * in unmatched and malformed paths, every HTTP method the parser accepts.
 * No log line and no metric label may hold any of them, and the labels stay
 * few whatever the requests.
 */
import { METHODS, request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { parseSamples } from './helpers/prometheus.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

/** A raw request (any method, any path, any header), its status; never rejects. */
async function raw (base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const { hostname, port } = new URL(base)
  return await new Promise<number>((resolve) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => { res.resume(); res.on('end', () => { resolve(res.statusCode ?? 0) }) })
    req.on('error', () => { resolve(0) })
    req.end(body)
  })
}

describe('what an outsider can make the node log or count', () => {
  it('no token, id or health data reaches a log line or a metric label, and the labels stay few', async () => {
    const lines: string[] = []
    net = await startConsortium([['hospital-a', 'examiner']], {
      config: { metrics: { host: '127.0.0.1', port: 0 } },
      daemon: () => ({ log: { destination: { write: (line: string) => { lines.push(line) } }, level: 'trace' } })
    })
    const a = net.node('hospital-a')
    const staff = await staffToken(a)
    const { user } = await enrolOverHttp(a, staff)
    const token = 'tok-Qx7Vz93kLmN'
    const health = 'HIV-positive-Rq8w'

    const fhirBroken = `{"resourceType":"Observation","code":{"text":"${health}"},"valueQuantity":{"value":1 ${staff}`
    expect(await raw(a.url, 'POST', `/v1/users/${user.userId}/fhir`, { authorization: `Bearer ${staff}`, 'content-type': 'application/fhir+json' }, fhirBroken)).toBe(400)
    expect(await raw(a.url, 'POST', `/v1/users/${user.userId}/entries`, { authorization: `Bearer ${staff}`, 'content-type': 'application/json' }, `{"plain":"${health}`))
      .toBe(400)
    expect(await raw(a.url, 'GET', `/v1/users/${user.userId}/entries?token=${token}`, { authorization: `Bearer ${token}` })).toBe(401)
    expect(await raw(a.url, 'POST', '/v1/session', { 'content-type': 'application/json' }, JSON.stringify({ apiKey: token, token }))).toBeGreaterThanOrEqual(400)
    expect(await raw(a.url, 'GET', `/v1/nothing/${user.userId}/${token}?q=${health}`)).toBe(404)
    expect(await raw(a.url, 'GET', `/v1/users/%zz${token}/entries`)).toBe(400)
    expect(await raw(a.url, 'GET', `/v1/users/${'x'.repeat(600)}${token}/entries`)).toBeGreaterThanOrEqual(400)
    let sent = 0
    for (const method of METHODS) {
      if (method === 'CONNECT') continue
      await raw(a.url, method, `/v1/users/${user.userId}/${token}`, { authorization: `Bearer ${token}` })
      sent++
    }
    await waitUntil(() => lines.filter((l) => l.includes('"event":"request"')).length >= sent + 7, 'a line for every request')

    for (const line of lines) {
      for (const secret of [token, staff, health, user.userId]) expect(line, line).not.toContain(secret)
    }
    const samples = parseSamples(await (await fetch(a.daemon.metricsServer!.url)).text())
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) for (const secret of [token, staff, health, user.userId]) expect(value).not.toContain(secret)
    }
    const routes = new Set(samples.flatMap((s) => s.labels.route === undefined ? [] : [s.labels.route]))
    expect(routes.size).toBeLessThanOrEqual(8)
    const methods = new Set(samples.flatMap((s) => s.labels.method === undefined ? [] : [s.labels.method]))
    // Every method the HTTP parser accepts is a bounded set: the label holds one of them, never anything sent.
    for (const method of methods) expect(METHODS).toContain(method)

    const ready = await call(a.url, 'GET', '/readyz')
    const text = JSON.stringify(ready.body)
    for (const secret of [staff, user.userId, a.apiKey, a.daemon.network.peerId]) expect(text).not.toContain(secret)
  }, 60_000)
})
