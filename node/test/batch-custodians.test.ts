/**
 * Batch items whose chain lives elsewhere, over real HTTP between two real
 * daemons: an item for a chain another node is custodian of (held here as
 * a replica) is forwarded to that custodian and written there, as the
 * single write route does; an item for a user held nowhere here is
 * answered UNKNOWN_CHAIN at once, and holds up neither the other items
 * nor the batch's answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newRecoveryPhrase, userKeysFromPhrase, type UserId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { call, enrolOverHttp, staffToken, startConsortium, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'

/** Far below the seconds a lookup for a chain held nowhere once cost, far above one local write on a busy machine. */
const PROMPT_MS = 2_500

let consortium: TestConsortium
let a: TestNode
let b: TestNode
let tokenA: string
let atA: UserId
let atB: UserId

const item = (user: string, value: number): object => ({
  user, type: 'exam', plain: { title: 'bench', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes: 'fasting' }
})
const stranger = (): UserId => userKeysFromPhrase(newRecoveryPhrase(), crypto).userId

async function lengthAt (node: TestNode, user: UserId): Promise<number> {
  return (await node.daemon.ledger.chain(user)).length
}

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  a = consortium.node('hospital-a')
  b = consortium.node('hospital-b')
  tokenA = await staffToken(a)
  atA = (await enrolOverHttp(a, tokenA)).user.userId
  atB = (await enrolOverHttp(b, await staffToken(b))).user.userId
  const replicated = async (): Promise<boolean> => a.daemon.ledger.hasChain(atB) && (await a.daemon.ledger.chain(atB)).verifiedLength >= 1
  await waitUntil(replicated, 'hospital-a to replicate the chain B enrolled')
  // A first write warms the sealing workers, so the timings below are the batch's own.
  expect((await call(a.url, 'POST', '/v1/entries/batch', { token: tokenA, body: { items: [item(atA, 99)] } })).body.written).toBe(1)
}, 60_000)

afterAll(async () => { await consortium?.close() })

describe('batch items for chains held elsewhere or nowhere', () => {
  it('forwards the item of a chain B is custodian of, writes the local one, and answers the unknown ones UNKNOWN_CHAIN promptly', async () => {
    const before = { a: await lengthAt(a, atA), b: await lengthAt(b, atB) }
    const started = Date.now()
    const reply = await call(a.url, 'POST', '/v1/entries/batch', {
      token: tokenA, body: { items: [item(stranger(), 1), item(atA, 2), item(atB, 3), item(stranger(), 4)] }
    })
    const elapsed = Date.now() - started
    expect(reply.status).toBe(200)
    const results = reply.body.items as Array<{ ok: boolean, seq?: number, error?: { code: string } }>
    expect(results.map((r) => r.ok)).toEqual([false, true, true, false])
    expect([results[0]!.error!.code, results[3]!.error!.code]).toEqual(['UNKNOWN_CHAIN', 'UNKNOWN_CHAIN'])
    // Written where each chain's custodian is, at the positions answered.
    expect(results[1]!.seq).toBe(before.a)
    expect(results[2]!.seq).toBe(before.b)
    expect(await lengthAt(a, atA)).toBe(before.a + 1)
    expect(await lengthAt(b, atB)).toBe(before.b + 1)
    expect(elapsed).toBeLessThan(PROMPT_MS)
  })

  it('answers a batch of users held nowhere at once, writing nothing and holding no chain for them', async () => {
    const users = Array.from({ length: 6 }, stranger)
    const started = Date.now()
    const reply = await call(a.url, 'POST', '/v1/entries/batch', { token: tokenA, body: { items: users.map((u, i) => item(u, i)) } })
    expect(Date.now() - started).toBeLessThan(PROMPT_MS)
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ written: 0, failed: 6 })
    expect(reply.body.items.map((r: { error: { code: string } }) => r.error.code)).toEqual(Array(6).fill('UNKNOWN_CHAIN'))
    expect(users.some((u) => a.daemon.ledger.hasChain(u))).toBe(false)
  })
})
