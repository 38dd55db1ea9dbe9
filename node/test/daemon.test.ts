/**
 * Real daemons (HTTP on 127.0.0.1, libp2p on 127.0.0.1, data on disk): an
 * examiner enrols a user and writes an exam over HTTP; the user logs in by
 * signing a challenge and reads their chain; another examiner's node holds
 * the replica; data and API keys survive a restart.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fromHex, newRecoveryPhrase, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer } from '@healthchain/net'
import { crypto } from './helpers/fixtures.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'

let net: TestConsortium | undefined
afterEach(async () => { await net?.close(); net = undefined })

describe('daemon', () => {
  it('enrols, writes an exam, and the user reads it; the replica at another node verifies; restart keeps data and keys', async () => {
    net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
    const a = net.node('hospital-a')
    const staffA = await staffToken(a)
    const { user } = await enrolOverHttp(a, staffA)
    const write = await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, {
      token: staffA, body: { type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] }, sealed: { notes: 'follow up in 6 months' } }
    })
    expect(write.status).toBe(201)
    expect(write.body.seq).toBe(1)

    const read = await call(a.url, 'GET', `/v1/users/${user.userId}/entries`, { token: staffA })
    expect(read.status).toBe(200)
    expect(read.body.entries[0].sealed).toEqual({ readable: true, data: { notes: 'follow up in 6 months' } })

    const userTokenA = await userToken(a, user)
    const own = await call(a.url, 'GET', `/v1/users/${user.userId}/entries`, { token: userTokenA })
    expect(own.status).toBe(200)
    expect(own.body.entries[0].sealed.readable).toBe(false)
    expect(typeof own.body.entries[0].sealed.envelope).toBe('string')

    const b = net.node('hospital-b')
    await waitUntil(async () => b.daemon.ledger.hasChain(user.userId) && (await b.daemon.ledger.chain(user.userId)).verifiedLength === 2, 'hospital-b to replicate the chain')
    const verify = await call(b.url, 'GET', `/v1/users/${user.userId}/verify`, { token: await staffToken(b) })
    expect(verify.status).toBe(200)
    expect(verify.body.valid).toBe(true)

    await net.stop('hospital-a')
    const again = await net.restart('hospital-a')
    const token = await staffToken(again)
    const after = await call(again.url, 'GET', `/v1/users/${user.userId}/entries`, { token })
    expect(after.body.entries).toHaveLength(1)
  })
})

describe('phones logging in over libp2p', () => {
  async function phoneOf (node: TestNode, user: UserKeys, name: string): Promise<{ peer: LightPeer, close: () => Promise<void> }> {
    const ledger = await Ledger.open({ dir: join(net!.dir, name), crypto, verifyWorkers: 0 })
    const peer = await LightPeer.start({ ledger, registryKey: node.daemon.ledger.registry.key, user: user.sign, bootstrapPeers: [node.daemon.network.peerId] })
    return { peer, close: async () => { await peer.stop(); await ledger.close() } }
  }

  it('a light peer of a user held here is an audited login, granted; a stranger\'s is audited as refused', async () => {
    net = await startConsortium([['hospital-a', 'examiner']])
    const a = net.node('hospital-a')
    const { user, chainKey } = await enrolOverHttp(a, await staffToken(a))

    const phone = await phoneOf(a, user, 'phone')
    try {
      await phone.peer.connect(a.daemon.network.addresses[0]!)
      const { chain } = await phone.peer.sync(fromHex(chainKey, 32, 'chainKey'))
      expect(chain.verifiedLength).toBe(1)
    } finally {
      await phone.close()
    }
    const stranger = await phoneOf(a, userKeysFromPhrase(newRecoveryPhrase(), crypto), 'stranger')
    try {
      await stranger.peer.connect(a.daemon.network.addresses[0]!).catch(() => {})
    } finally {
      await stranger.close()
    }

    await waitUntil(async () => (await a.daemon.audit.read()).some((l) => l.line.target === 'p2p' && l.line.result === 'refused'), 'the refused login to be audited')
    const logins = (await a.daemon.audit.read()).map((l) => l.line).filter((l) => l.action === 'login' && l.target === 'p2p')
    expect(logins[0]).toMatchObject({ actor: `user:${user.userId}`, role: 'user', result: 'granted' })
    expect(logins.at(-1)).toMatchObject({ actor: 'anonymous', result: 'refused', code: 'NOT_ADMITTED' })
    expect(logins.every((l) => l.from.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
  })
})
