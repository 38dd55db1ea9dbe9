/**
 * Real daemons (HTTP on 127.0.0.1, libp2p on 127.0.0.1, data on disk): an
 * examiner enrols a user and writes an exam over HTTP; the user logs in by
 * signing a challenge and reads their chain; another examiner's node holds
 * the replica; data and API keys survive a restart.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type TestConsortium } from './helpers/daemons.js'

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
