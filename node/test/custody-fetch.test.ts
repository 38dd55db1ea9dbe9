/**
 * A new custodian that holds no copy of the chain (nodes that replicate
 * only what they are asked for): its offer fetches the chain from the peers
 * first, and says how many blocks it fetched; without the chain key it
 * cannot know which chain to fetch (UNKNOWN_CHAIN), and with no peer to
 * serve it the offer fails clearly (503) and nothing is moved.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { readRecoveryPhrase } from '@healthchain/ledger'
import { cli } from './helpers/cli.js'
import { call, startConsortium, staffToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

let net: TestConsortium
const a = (): TestNode => net.node('hospital-a')
const b = (): TestNode => net.node('hospital-b')

beforeAll(async () => {
  net = await startConsortium([['hospital-b', 'examiner'], ['hospital-a', 'examiner']], { config: { p2p: { replicateAll: false } } })
}, 60_000)
afterAll(async () => { await net?.close() })

async function enrolled (name: string): Promise<{ phraseFile: string, keys: UserKeys, chainKey: string }> {
  const phraseFile = join(net.dir, `${name}.phrase.json`)
  expect((await cli(['user', 'new', '--out', phraseFile])).code).toBe(0)
  const run = await cli(['user', 'enrol', '--api', a().url, '--api-key', a().apiKey, '--phrase-file', phraseFile, '--json'])
  expect(run.code, run.stderr).toBe(0)
  const exam = { type: 'exam', plain: { title: 'Pulse', observations: [{ code: '8867-4', value: 64, unit: '/min' }] }, sealed: { notes: name } }
  const keys = userKeysFromPhrase(await readRecoveryPhrase(phraseFile), crypto)
  expect((await call(a().url, 'POST', `/v1/users/${keys.userId}/entries`, { token: await staffToken(a()), body: exam })).status).toBe(201)
  return { phraseFile, keys, chainKey: run.json().chainKey }
}

describe('an offer at a node without the chain', () => {
  it('fetches the chain from the peers when staff name its key, then the user moves with `user transfer`', async () => {
    const erin = await enrolled('erin')
    const token = await staffToken(b())
    expect(b().daemon.ledger.hasChain(erin.keys.userId)).toBe(false)
    const unnamed = await call(b().url, 'GET', `/v1/users/${erin.keys.userId}/continuation`, { token })
    expect([unnamed.status, unnamed.body.error.code]).toEqual([404, 'UNKNOWN_CHAIN'])

    const offer = await call(b().url, 'GET', `/v1/users/${erin.keys.userId}/continuation?chainKey=${erin.chainKey}`, { token })
    expect(offer.status, JSON.stringify(offer.body)).toBe(200)
    expect(offer.body).toMatchObject({ userId: erin.keys.userId, length: 2, fetched: 2, plain: { from: erin.chainKey, to: 'hospital-b' } })

    const run = await cli(['user', 'transfer', '--to', 'hospital-b', '--api', b().url, '--phrase-file', erin.phraseFile, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ custodian: 'hospital-b', from: erin.chainKey, length: 2 })
  })

  it('fails clearly when no peer serves the chain, and moves nothing', async () => {
    const frank = await enrolled('frank')
    await net.stop('hospital-a')
    await waitUntil(() => b().daemon.network.replication.peers.length === 0, 'hospital-b to lose its peer')
    const reply = await call(b().url, 'GET', `/v1/users/${frank.keys.userId}/continuation?chainKey=${frank.chainKey}`, { token: await staffToken(b()) })
    expect(reply.status, JSON.stringify(reply.body)).toBe(503)
    expect(reply.body.error.code).toBe('NO_PEER')
    expect(reply.body.error.message).toContain('no peer served it in full')
    // Nothing moved: whatever hospital-b holds of the chain is a replica under the old key.
    if (b().daemon.ledger.hasChain(frank.keys.userId)) {
      const chain = await b().daemon.ledger.chain(frank.keys.userId)
      expect([bytesToHex(chain.key), chain.writable]).toEqual([frank.chainKey, false])
    }
  }, 90_000)
})
