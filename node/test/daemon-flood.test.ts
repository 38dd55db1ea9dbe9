/**
 * A real daemon under a flood from one outsider: 5,000 malformed logins over
 * HTTP and a run of refused libp2p connections leave a bounded number of
 * audit lines whose counts add up, while a user's login from another
 * address is granted and audited on its own line. The windows are set
 * longer than the test, so they end when the node stops: what was counted
 * is written then, and read back after a restart.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, fromHex, newRecoveryPhrase, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer } from '@healthchain/net'
import { signLogin, type AuditLine } from '../src/index.js'
import { crypto } from './helpers/fixtures.js'
import { callFrom } from './helpers/from-address.js'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

const OTHER_SOURCE = '127.0.0.2'

function refusalsIn (lines: readonly AuditLine[]): number {
  return lines.reduce((sum, l) => sum + ((l as AuditLine & { count?: number }).count ?? 1), 0)
}

async function strangerConnects (node: TestNode, name: string): Promise<void> {
  const ledger = await Ledger.open({ dir: join(net!.dir, name), crypto, verifyWorkers: 0 })
  const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const peer = await LightPeer.start({
    ledger, registryKey: node.daemon.ledger.registry.key, user: stranger.sign, bootstrapPeers: [node.daemon.network.peerId]
  })
  try {
    await peer.connect(node.daemon.network.addresses[0]!).catch(() => {})
    await waitUntil(() => peer.host.getConnections().length === 0, 'the stranger\'s connection to be refused')
  } finally {
    await peer.stop()
    await ledger.close()
  }
}

async function userLoginFrom (source: string, node: TestNode, user: UserKeys) {
  const asked = await callFrom(source, node.url, 'POST', '/v1/session/challenge', { userId: user.userId })
  const challenge = asked.body.challenge as string
  const signature = bytesToHex(signLogin(node.id, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto))
  return await callFrom(source, node.url, 'POST', '/v1/session', { userId: user.userId, challenge, signature })
}

describe('a daemon flooded by one outsider', () => {
  it('5,000 malformed logins and refused connections: bounded audit lines that add up; a user\'s login meanwhile is granted and audited', async () => {
    net = await startConsortium([['hospital-a', 'examiner']], {
      config: { api: { rateLimit: { windowSeconds: 3600 } }, audit: { windowSeconds: 3600 }, p2p: { inboundConnectionsPerSecond: 1000 } }
    })
    let a = net.node('hospital-a')
    const { user } = await enrolOverHttp(a, await staffToken(a))
    const auditBefore = a.daemon.audit.length

    let sent = 0
    const statuses = new Map<number, number>()
    const [, login] = await Promise.all([
      Promise.all(Array.from({ length: 16 }, async () => {
        while (sent < 5000) {
          sent++
          const reply = await call(a.url, 'POST', '/v1/session', { body: {} })
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
        }
      })),
      (async () => {
        await waitUntil(() => sent > 500, 'the flood to be under way')
        return await userLoginFrom(OTHER_SOURCE, a, user)
      })()
    ])
    expect(login.status).toBe(200)
    expect([...statuses.keys()].sort()).toEqual([400, 429])
    expect(statuses.get(429)).toBeGreaterThan(4000)

    for (let i = 0; i < 8; i++) await strangerConnects(a, `stranger-${i}`)

    await net.stop('hospital-a')
    a = await net.restart('hospital-a')
    const lines = (await a.daemon.audit.read(auditBefore)).map((l) => l.line)

    const logins = lines.filter((l) => l.action === 'login' && l.target === undefined && l.from === '127.0.0.1')
    expect(logins.length).toBeLessThanOrEqual(4)
    expect(logins.every((l) => l.result === 'refused')).toBe(true)
    expect(refusalsIn(logins)).toBe(5000)
    expect(refusalsIn(logins.filter((l) => l.code === 'BAD_REQUEST'))).toBe(statuses.get(400))
    expect(refusalsIn(logins.filter((l) => l.code === 'RATE_LIMITED'))).toBe(statuses.get(429))

    expect(lines.filter((l) => l.from === OTHER_SOURCE)).toEqual([
      { v: 1, time: expect.any(String), actor: `user:${user.userId}`, role: 'user', action: 'login', from: OTHER_SOURCE, result: 'granted' }
    ])

    const connections = lines.filter((l) => l.target === 'p2p')
    expect(connections).toHaveLength(2)
    expect(connections[0]).toMatchObject({ actor: 'anonymous', result: 'refused', code: 'NOT_ADMITTED', from: expect.stringMatching(/^\/ip4\/127\.0\.0\.1\/tcp\//) })
    expect(connections[1]).toMatchObject({ actor: 'anonymous', result: 'refused', code: 'NOT_ADMITTED', from: '/ip4/127.0.0.1', count: expect.any(Number) })
    expect(refusalsIn(connections)).toBeGreaterThanOrEqual(8)
  }, 120_000)
})
