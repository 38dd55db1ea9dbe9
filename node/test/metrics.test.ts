/**
 * The metrics listener and the health endpoints of a real node on loopback:
 * /metrics (on its own port) counts requests by route pattern and status,
 * refusals by code, chains held and audit lines after real writes and a
 * refusal, and no label carries a user id, chain key or URL; /livez and
 * /readyz say what they mean, readiness waiting for the registry.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import { Daemon, parseConfig } from '../src/index.js'
import { prepareConsortium } from '../src/testing/index.js'
import { readinessOf } from '../src/metrics/readiness.js'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'
import { parseSamples, valueOf } from './helpers/prometheus.js'

let net: TestConsortium | undefined
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await net?.close()
  net = undefined
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function scrape (url: string): Promise<{ status: number, type: string | null, text: string }> {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
}

describe('GET /metrics', () => {
  it('counts requests by route and status, refusals by code, chains held and audit lines; no label holds an id, key or URL', async () => {
    net = await startConsortium([['hospital-a', 'examiner']], { config: { metrics: { host: '127.0.0.1', port: 0 } } })
    const a = net.node('hospital-a')
    const metricsUrl = a.daemon.metricsServer!.url
    expect(new URL(metricsUrl).port).not.toBe(new URL(a.url).port)

    const staff = await staffToken(a)
    const { user, chainKey } = await enrolOverHttp(a, staff)
    for (const value of [121, 133]) {
      const write = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, {
        token: staff, body: { type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes: 'n' } }
      })
      expect(write.status).toBe(201)
    }
    const refused = await call(a.url, 'POST', '/v1/session', { body: { apiKey: 'hc_not-a-key' } })
    expect(refused.status).toBe(401)
    const unauthenticated = await call(a.url, 'GET', `/v1/users/${user.userId}/entries`)
    expect(unauthenticated.status).toBe(401)
    const unknownPath = await call(a.url, 'GET', `/v1/nothing/${user.userId}`)
    expect(unknownPath.status).toBe(404)
    expect((await call(a.url, 'POST', `/v1/nothing/${user.userId}`, { body: {} })).status).toBe(404)

    let samples = parseSamples((await scrape(metricsUrl)).text)
    await waitUntil(async () => {
      samples = parseSamples((await scrape(metricsUrl)).text)
      return valueOf(samples, 'healthchain_chains_held') === 1 && valueOf(samples, 'healthchain_audit_lines_total') > 0
    }, 'the chain and the audit lines to show')
    const { status, type } = await scrape(metricsUrl)
    expect(status).toBe(200)
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/)

    expect(valueOf(samples, 'healthchain_http_requests_total', { route: '/v1/users/:id/entries', method: 'POST', status: '201' })).toBe(2)
    expect(valueOf(samples, 'healthchain_http_requests_total', { route: '/v1/users', method: 'POST', status: '201' })).toBe(1)
    expect(valueOf(samples, 'healthchain_http_requests_total', { route: '/v1/session', method: 'POST', status: '401' })).toBe(1)
    // A path no route serves: the console's catch-all answers GET with a 404; a POST matches no route at all.
    expect(valueOf(samples, 'healthchain_http_requests_total', { route: '/*', method: 'GET', status: '404' })).toBe(1)
    expect(valueOf(samples, 'healthchain_http_requests_total', { route: '(unmatched)', method: 'POST', status: '404' })).toBe(1)
    expect(valueOf(samples, 'healthchain_refusals_total', { code: refused.body.error.code })).toBeGreaterThanOrEqual(1)
    expect(valueOf(samples, 'healthchain_refusals_total', { code: unauthenticated.body.error.code })).toBeGreaterThanOrEqual(1)
    expect(valueOf(samples, 'healthchain_http_request_duration_seconds_count', { kind: 'write' })).toBeGreaterThanOrEqual(4)
    expect(valueOf(samples, 'healthchain_http_request_duration_seconds_count', { kind: 'read' })).toBeGreaterThanOrEqual(2)
    expect(valueOf(samples, 'healthchain_chains_held')).toBe(1)
    expect(valueOf(samples, 'healthchain_audit_lines_total')).toBe(a.daemon.audit.length)
    expect(valueOf(samples, 'healthchain_worker_queue_depth', { pool: 'sealing' })).toBe(0)
    expect(samples.some((s) => s.name === 'healthchain_nodejs_eventloop_lag_p99_seconds')).toBe(true)
    for (const name of ['healthchain_peers', 'healthchain_replication_lag_blocks', 'healthchain_gossip_heads_published_total',
      'healthchain_gossip_heads_received_total', 'healthchain_witness_cosignatures_total', 'healthchain_fork_proofs_total']) {
      expect(samples.some((s) => s.name === name), name).toBe(true)
    }

    // Bounded labels only: every value is a route pattern, a method, a status, a code or a constant; never an id, key or URL.
    const secrets = [user.userId, chainKey, a.daemon.network.peerId, bytesToHex(a.daemon.ledger.registry.key)]
    for (const sample of samples) {
      expect(sample.labels.node).toBe('hospital-a')
      for (const value of Object.values(sample.labels)) {
        for (const secret of secrets) expect(value).not.toContain(secret)
        expect(value).not.toMatch(/[0-9a-f]{32}/)
      }
      if (sample.labels.route !== undefined) expect(sample.labels.route === '(unmatched)' || !sample.labels.route.includes('/v1/nothing')).toBe(true)
    }
    const routes = new Set(samples.flatMap((s) => s.labels.route === undefined ? [] : [s.labels.route]))
    for (const route of routes) expect(route === '(unmatched)' || /^\/[a-z0-9/:*._-]*$/i.test(route)).toBe(true)

    // The listener serves /metrics only, and only for reading.
    expect((await scrape(metricsUrl.replace('/metrics', '/v1/status'))).status).toBe(404)
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(405)
    // And the API does not serve them.
    expect((await call(a.url, 'GET', '/metrics')).status).toBe(404)
  })

  it('is not served when the config has no metrics section', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    expect(net.node('hospital-a').daemon.metricsServer).toBeUndefined()
  })
})

describe('GET /livez and GET /readyz', () => {
  it('a node following a registry it cannot reach yet is live but not ready (registry), and ready once the registry arrives', async () => {
    const dir = await makeTempDir('healthchain-ready-')
    cleanups.push(async () => { await removeDir(dir) })
    const { registryKey, peers } = await prepareConsortium({
      parties: [{ id: 'hospital-a', role: 'examiner' }, { id: 'hospital-b', role: 'examiner' }],
      dataDirOf: (id) => join(dir, id),
      governanceKeyPath: join(dir, 'governance.json'),
      name: 'Readiness test'
    })
    const configOf = (id: string, bootstrap: string[]): ReturnType<typeof parseConfig> => parseConfig({
      name: id,
      role: 'examiner',
      dataDir: join(dir, id),
      api: { host: '127.0.0.1', port: 0 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap },
      registryKey: bytesToHex(registryKey)
    }, { baseDir: dir })
    const a = await Daemon.start(configOf('hospital-a', []))
    cleanups.push(async () => { await a.stop() })
    // b trusts a's peer id for the registry, but the address it has for a leads nowhere: b starts without the registry.
    const b = await Daemon.start(configOf('hospital-b', [`/ip4/127.0.0.1/tcp/9/p2p/${peers.get('hospital-a' as never)!}`]))
    cleanups.push(async () => { await b.stop() })

    expect(await call(b.apiUrl, 'GET', '/livez')).toEqual({ status: 200, body: { live: true } })
    const notReady = await call(b.apiUrl, 'GET', '/readyz')
    expect(notReady.status).toBe(503)
    expect(notReady.body).toMatchObject({ ready: false, checks: { registry: false, network: true }, notReady: expect.arrayContaining(['registry']) })

    await waitUntil(async () => (await call(a.apiUrl, 'GET', '/readyz')).status === 200, 'the registry host to be ready')
    expect((await call(a.apiUrl, 'GET', '/readyz')).body).toEqual({ ready: true, checks: { registry: true, network: true, index: true, restore: true }, notReady: [] })

    await b.network.dial(a.network.addresses[0]!)
    await waitUntil(async () => (await call(b.apiUrl, 'GET', '/readyz')).status === 200, 'hospital-b to be ready once it has the registry')
    expect(b.ledger.registry.length).toBeGreaterThan(0)
  })

  it('is not ready while any check fails, naming each', () => {
    expect(readinessOf({ registry: true, network: true, index: true, restore: true }).ready).toBe(true)
    expect(readinessOf({ registry: true, network: true, index: false, restore: true }))
      .toEqual({ ready: false, checks: { registry: true, network: true, index: false, restore: true } })
    expect(readinessOf({ registry: false, network: false, index: true, restore: true }).ready).toBe(false)
    expect(readinessOf({ registry: true, network: true, index: true, restore: false }).ready).toBe(false)
  })
})
