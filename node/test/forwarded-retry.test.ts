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
 * Once the forwarding node holds the exam verified in its own copy of the
 * chain, it answers a retry itself, also after a restart. What is not the
 * same write is refused: at the custodian, which opens its own exam's
 * sealed part to compare it, and through the other node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UserId } from '@healthchain/core'
import { MIN_IDS_IN_MEMORY } from '@healthchain/ledger'
import { examBody, newEntryIdHex } from './helpers/exam-bodies.js'
import { call, enrolOverHttp, staffToken, startConsortium, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'

let consortium: TestConsortium
let a: TestNode
let b: TestNode
let tokenB: string
let user: UserId

async function lengthAt (node: TestNode): Promise<number> {
  return (await node.daemon.ledger.chain(user)).length
}

async function writeAtB (body: object): Promise<{ status: number, body: any }> {
  return await call(b.url, 'POST', `/v1/users/${user}/entries`, { token: tokenB, body })
}

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], { config: { storage: { idsInMemory: MIN_IDS_IN_MEMORY } } })
  a = consortium.node('hospital-a')
  b = consortium.node('hospital-b')
  user = (await enrolOverHttp(a, await staffToken(a))).user.userId
  await waitUntil(async () => b.daemon.ledger.hasChain(user) && (await b.daemon.ledger.chain(user)).verifiedLength >= 1, 'hospital-b to replicate the chain')
  tokenB = await staffToken(b)
}, 60_000)

afterAll(async () => { await consortium?.close() })

describe('an exam retried through a node that is not the custodian', () => {
  it('is answered as a duplicate at its first position, and stored once', async () => {
    const id = newEntryIdHex()
    const first = await writeAtB({ ...examBody(120), id })
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ id, duplicate: false })
    const length = await lengthAt(a)

    const again = await writeAtB({ ...examBody(120), id })
    expect(again.body).toEqual({ seq: first.body.seq, id, duplicate: true })
    expect(await lengthAt(a)).toBe(length)
    // Once the chain has moved on past that position too.
    expect((await writeAtB(examBody(121))).status).toBe(201)
    const late = await writeAtB({ ...examBody(120), id })
    expect(late.body).toEqual({ seq: first.body.seq, id, duplicate: true })
    expect(await lengthAt(a)).toBe(length + 1)
  })

  it('refuses the same id with another plain part or other sealed content (409 DUPLICATE_ENTRY), writing nothing', async () => {
    const id = newEntryIdHex()
    expect((await writeAtB({ ...examBody(130), id })).status).toBe(201)
    const length = await lengthAt(a)
    for (const other of [examBody(131), examBody(130, 'not fasting')]) {
      const reply = await writeAtB({ ...other, id })
      expect(reply.status).toBe(409)
      expect(reply.body.error.code).toBe('DUPLICATE_ENTRY')
    }
    expect(await lengthAt(a)).toBe(length)
  })

  it('answers the items of a batch sent again as duplicates at their positions', async () => {
    const items = [140, 141, 142].map((value) => ({ user, ...examBody(value), id: newEntryIdHex() }))
    const first = await call(b.url, 'POST', '/v1/entries/batch', { token: tokenB, body: { items } })
    expect(first.body).toMatchObject({ written: 3, failed: 0 })
    const length = await lengthAt(a)
    const again = await call(b.url, 'POST', '/v1/entries/batch', { token: tokenB, body: { items } })
    expect(again.body.items.map((r: { ok: boolean, seq: number, duplicate: boolean }) => [r.ok, r.seq, r.duplicate]))
      .toEqual(first.body.items.map((r: { seq: number }) => [true, r.seq, true]))
    expect(await lengthAt(a)).toBe(length)
  })

  it('resends what it sealed while the first attempt is still on its way: both are answered with one position', async () => {
    // The first attempt is held before it leaves hospital-b; the retry (the caller gave up waiting) overtakes it.
    const network = b.daemon.network
    const append = network.append.bind(network)
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let calls = 0
    network.append = async (...args) => {
      if (++calls === 1) await gate
      return await append(...args)
    }
    try {
      const id = newEntryIdHex()
      const length = await lengthAt(a)
      const first = writeAtB({ ...examBody(145), id })
      await waitUntil(() => calls === 1, 'the first attempt to reach the forwarding')
      const retry = await writeAtB({ ...examBody(145), id })
      release()
      const answers = [await first, retry]
      expect(answers.map((r) => r.status)).toEqual([201, 201])
      expect(answers.map((r) => r.body.seq)).toEqual([length, length])
      expect(answers.map((r) => r.body.duplicate).sort()).toEqual([false, true])
      expect(await lengthAt(a)).toBe(length + 1)
    } finally {
      release()
      network.append = append
    }
  })

  // Last: it restarts hospital-b.
  it('after hospital-b restarts, answers the retry from its verified copy of the chain', async () => {
    const id = newEntryIdHex()
    const first = await writeAtB({ ...examBody(150), id })
    expect(first.status).toBe(201)
    const length = await lengthAt(a)
    await waitUntil(async () => (await b.daemon.ledger.chain(user)).verifiedLength === length, 'hospital-b to verify the exam')
    await consortium.stop('hospital-b')
    b = await consortium.restart('hospital-b')
    await b.daemon.network.dial(a.daemon.network.addresses[0]!)
    await waitUntil(() => b.daemon.network.replication.peers.length === 1, 'hospital-b to reconnect')
    tokenB = await staffToken(b)
    expect((await writeAtB({ ...examBody(150), id })).body).toEqual({ seq: first.body.seq, id, duplicate: true })
    const other = await writeAtB({ ...examBody(150, 'not fasting'), id })
    expect(other.status).toBe(409)
    expect(other.body.error.code).toBe('DUPLICATE_ENTRY')
    expect(await lengthAt(a)).toBe(length)
  })
})

describe('an exam retried at its custodian', () => {
  const writeAtA = async (body: object): Promise<{ status: number, body: any }> =>
    await call(a.url, 'POST', `/v1/users/${user}/entries`, { token: await staffToken(a), body })

  it('is a duplicate only with the same sealed part too: it is opened and compared, the ciphertext never matches', async () => {
    const id = newEntryIdHex()
    const first = await writeAtA({ ...examBody(160), id })
    expect(first.status).toBe(201)
    const length = await lengthAt(a)
    expect((await writeAtA({ ...examBody(160), id })).body).toEqual({ seq: first.body.seq, id, duplicate: true })
    const other = await writeAtA({ ...examBody(160, 'not fasting'), id })
    expect(other.status).toBe(409)
    expect(other.body.error.code).toBe('DUPLICATE_ENTRY')
    expect(await lengthAt(a)).toBe(length)
  })

  it('finds the original in the chain\'s id index once its id has left memory', async () => {
    const id = newEntryIdHex()
    const first = await writeAtA({ ...examBody(170), id })
    // More exams than the chain keeps ids of in memory (storage.idsInMemory, set to its least here).
    const token = await staffToken(a)
    for (let round = 0; round < 2; round++) {
      const items = Array.from({ length: 200 }, (_, i) => ({ user, ...examBody(i) }))
      expect((await call(a.url, 'POST', '/v1/entries/batch', { token, body: { items } })).body.written).toBe(200)
    }
    const length = await lengthAt(a)
    expect((await writeAtA({ ...examBody(170), id })).body).toEqual({ seq: first.body.seq, id, duplicate: true })
    expect(await lengthAt(a)).toBe(length)
  })
})
