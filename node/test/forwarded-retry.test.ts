/**
 * A retried exam whose chain lives on another node, over real HTTP between
 * two real daemons. An examiner at hospital-b writes an exam with its own
 * id for a user hospital-a is custodian of: hospital-b seals, signs and
 * forwards it. When the answer is lost (a time limit, a dropped connection)
 * the hospital's system sends the same write again, and must learn that it
 * is stored, at the position it has — not DUPLICATE_ENTRY, which means "this
 * id is someone else's entry". Sealing again would give other ciphertext
 * (a fresh data key), which the custodian rightly refuses as a different
 * entry; so the forwarding node resends the exam it sealed the first time.
 * What is not the same write is still refused, by the custodian. The
 * forwarding node remembers in memory only: after it restarts, a retry is
 * refused as DUPLICATE_ENTRY (never written twice).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, type UserId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { call, enrolOverHttp, staffToken, startConsortium, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'

let consortium: TestConsortium
let a: TestNode
let b: TestNode
let tokenB: string
let user: UserId

const exam = (value: number, notes = 'fasting'): { type: 'exam', plain: object, sealed: object } => ({
  type: 'exam', plain: { title: 'check-up', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes }
})
const newId = (): string => bytesToHex(crypto.randomBytes(16))

async function lengthAt (node: TestNode): Promise<number> {
  return (await node.daemon.ledger.chain(user)).length
}

async function writeAtB (body: object): Promise<{ status: number, body: any }> {
  return await call(b.url, 'POST', `/v1/users/${user}/entries`, { token: tokenB, body })
}

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  a = consortium.node('hospital-a')
  b = consortium.node('hospital-b')
  user = (await enrolOverHttp(a, await staffToken(a))).user.userId
  await waitUntil(async () => b.daemon.ledger.hasChain(user) && (await b.daemon.ledger.chain(user)).verifiedLength >= 1, 'hospital-b to replicate the chain')
  tokenB = await staffToken(b)
}, 60_000)

afterAll(async () => { await consortium?.close() })

describe('an exam retried through a node that is not the custodian', () => {
  it('is answered as a duplicate at its first position, and stored once', async () => {
    const id = newId()
    const first = await writeAtB({ ...exam(120), id })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ id, duplicate: false })
    const length = await lengthAt(a)

    const again = await writeAtB({ ...exam(120), id })
    expect(again.body).toEqual({ seq: first.body.seq, id, duplicate: true })
    expect(await lengthAt(a)).toBe(length)
    // Once the chain has moved on past that position too.
    expect((await writeAtB(exam(121))).status).toBe(201)
    const late = await writeAtB({ ...exam(120), id })
    expect(late.body).toEqual({ seq: first.body.seq, id, duplicate: true })
    expect(await lengthAt(a)).toBe(length + 1)
  })

  it('refuses the same id with another plain part or other sealed content (409 DUPLICATE_ENTRY), writing nothing', async () => {
    const id = newId()
    expect((await writeAtB({ ...exam(130), id })).status).toBe(201)
    const length = await lengthAt(a)
    for (const other of [exam(131), exam(130, 'not fasting')]) {
      const reply = await writeAtB({ ...other, id })
      expect(reply.status).toBe(409)
      expect(reply.body.error.code).toBe('DUPLICATE_ENTRY')
    }
    expect(await lengthAt(a)).toBe(length)
  })

  it('answers the items of a batch sent again as duplicates at their positions', async () => {
    const items = [140, 141, 142].map((value) => ({ user, ...exam(value), id: newId() }))
    const first = await call(b.url, 'POST', '/v1/entries/batch', { token: tokenB, body: { items } })
    expect(first.body).toMatchObject({ written: 3, failed: 0 })
    const length = await lengthAt(a)
    const again = await call(b.url, 'POST', '/v1/entries/batch', { token: tokenB, body: { items } })
    expect(again.body.items.map((r: { ok: boolean, seq: number, duplicate: boolean }) => [r.ok, r.seq, r.duplicate]))
      .toEqual(first.body.items.map((r: { seq: number }) => [true, r.seq, true]))
    expect(await lengthAt(a)).toBe(length)
  })

  // Last: it restarts hospital-b.
  it('after hospital-b restarts (nothing remembered), refuses the retry as DUPLICATE_ENTRY and writes nothing twice', async () => {
    const id = newId()
    expect((await writeAtB({ ...exam(150), id })).status).toBe(201)
    const length = await lengthAt(a)
    await consortium.stop('hospital-b')
    b = await consortium.restart('hospital-b')
    await b.daemon.network.dial(a.daemon.network.addresses[0]!)
    await waitUntil(() => b.daemon.network.replication.peers.length === 1, 'hospital-b to reconnect')
    tokenB = await staffToken(b)
    const again = await writeAtB({ ...exam(150), id })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('DUPLICATE_ENTRY')
    expect(await lengthAt(a)).toBe(length)
  })
})
