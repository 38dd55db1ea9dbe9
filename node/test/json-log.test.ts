/**
 * The daemon's JSON log, captured from a real node on loopback: after
 * sealed exam writes, staff and user logins and refusals, every line parses
 * as JSON with the fields promised (level, time, node, event; request id,
 * method, route, status and duration for requests), and no line holds the
 * exam's values, a token, the API key, the user's phrase or id, or any
 * secret key of the node or the user (hex or base64). Also the config's
 * `logLevel` and `metrics` sections.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildGenesis, bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, signEntry, userKeysFromPhrase
} from '@healthchain/core'
import { loadOrCreateNodeKeys, parseConfig } from '../src/index.js'
import { call, startConsortium, staffToken, userToken, waitUntil, type TestConsortium } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

const forms = (bytes: Uint8Array): string[] => [bytesToHex(bytes), Buffer.from(bytes).toString('base64'), Buffer.from(bytes).toString('base64url')]

describe('the JSON log', () => {
  it('has one JSON object a line with the promised fields, and none of the health data, tokens, keys or phrase', async () => {
    const lines: string[] = []
    net = await startConsortium([['hospital-a', 'examiner']], {
      daemon: () => ({ log: { destination: { write: (line: string) => { lines.push(line) } }, level: 'trace' } })
    })
    const a = net.node('hospital-a')
    const staff = await staffToken(a)

    const phrase = newRecoveryPhrase()
    const user = userKeysFromPhrase(phrase, crypto)
    const { body: { chainKey } } = await call(a.url, 'GET', `/v1/users/${user.userId}/chain-key`, { token: staff })
    const genesis = signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey: fromHex(chainKey, 32, 'chainKey'), seq: 0 }, user.sign.secretKey, crypto)
    expect((await call(a.url, 'POST', '/v1/users', { token: staff, body: { genesis: bytesToHex(encodeEntry(genesis)) } })).status).toBe(201)

    const exam = { title: 'Fasting glucose zqxv', observations: [{ code: '2345-7', value: 98765.4321, unit: 'mg/dL' }] }
    const notes = 'sealed-note-7f3kq suspected condition'
    const write = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: staff, body: { type: 'exam', plain: exam, sealed: { notes } } })
    expect(write.status).toBe(201)
    const token = await userToken(a, user)
    expect((await call(a.url, 'GET', `/v1/users/${user.userId}/entries`, { token })).status).toBe(200)
    const refused = await call(a.url, 'POST', '/v1/session', { body: { apiKey: `${a.apiKey}x` } })
    expect(refused.status).toBe(401)
    expect((await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: 'not-a-token', body: { type: 'exam', plain: exam } })).status).toBe(401)
    await waitUntil(() => lines.filter((l) => l.includes('"event":"request"')).length >= 7, 'a line for every request')

    const nodeKeys = await loadOrCreateNodeKeys(a.daemon.layout.keys, crypto)
    const secrets = [
      'Fasting glucose zqxv', '98765.4321', 'sealed-note-7f3kq', staff, token, a.apiKey, phrase, user.userId,
      ...phrase.split(' ').length > 1 ? [phrase.split(' ').slice(0, 3).join(' ')] : [],
      ...forms(user.sign.secretKey), ...forms(user.box.secretKey),
      ...nodeKeys.generations.flatMap((keys) => [...forms(keys.sign.secretKey), ...forms(keys.box.secretKey)]),
      ...forms(nodeKeys.p2p.raw)
    ]
    expect(lines.length).toBeGreaterThan(7)
    const parsed = lines.map((line) => {
      expect(line.endsWith('\n')).toBe(true)
      expect(line.trimEnd().includes('\n')).toBe(false)
      for (const secret of secrets) expect(line, 'a log line holds a secret or health data').not.toContain(secret)
      const entry = JSON.parse(line) as Record<string, unknown>
      expect(typeof entry.level).toBe('number')
      expect(typeof entry.time).toBe('number')
      expect(entry.node).toBe('hospital-a')
      expect(typeof entry.event).toBe('string')
      return entry
    })
    expect(parsed.filter((entry) => entry.event === 'start')).toEqual([expect.objectContaining({ role: 'examiner', api: a.url })])

    const requests = parsed.filter((entry) => entry.event === 'request')
    for (const entry of requests) {
      expect(typeof entry.reqId).toBe('string')
      expect(typeof entry.method).toBe('string')
      expect(typeof entry.route).toBe('string')
      expect(typeof entry.status).toBe('number')
      expect(typeof entry.durationMs).toBe('number')
      expect(entry).not.toHaveProperty('url')
      expect(entry).not.toHaveProperty('req')
    }
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', route: '/v1/users/:id/entries', status: 201 }))
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', route: '/v1/session', status: 401, code: refused.body.error.code }))

    await net.stop('hospital-a')
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ event: 'stop', node: 'hospital-a' })
  })
})

describe('config: logLevel and metrics', () => {
  const base = { name: 'hospital-a', role: 'examiner', dataDir: '/d' }

  it('defaults to info and no metrics listener; the environment overrides both', () => {
    const config = parseConfig(base, { baseDir: '/etc' })
    expect(config.logLevel).toBe('info')
    expect(config.metrics).toBeUndefined()
    const fromEnv = parseConfig(base, { baseDir: '/etc', env: { HEALTHCHAIN_LOG_LEVEL: 'warn', HEALTHCHAIN_METRICS_PORT: '9464' } })
    expect(fromEnv.logLevel).toBe('warn')
    expect(fromEnv.metrics).toEqual({ host: '127.0.0.1', port: 9464 })
  })

  it('refuses an unknown level and a bad port, naming the field', () => {
    expect(() => parseConfig({ ...base, logLevel: 'verbose' }, { baseDir: '/etc' })).toThrow(/logLevel/)
    expect(() => parseConfig({ ...base, metrics: { port: 70000 } }, { baseDir: '/etc' })).toThrow(/metrics\.port/)
    expect(() => parseConfig({ ...base, metrics: { port: 9464, path: '/x' } }, { baseDir: '/etc' })).toThrow(/metrics/)
  })
})
