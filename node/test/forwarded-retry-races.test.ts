/**
 * Retries of exams under a caller-chosen id where timing and other writes
 * meet them, over real HTTP between three real daemons: a first attempt
 * the custodian refused (sealed again, not resent as refused), a
 * conflicting send under the same id (the stored exam's retry still
 * answered), two sends that overlap while sealing (one exam, one
 * position), another institution's erased exam (never acknowledged as
 * this institution's write), and a retry at the custodian while the first
 * attempt is being written (answered once it is). hospital-a is the custodian of every chain
 * here; hospital-b forwards its examiners' exams to it; hospital-c is only
 * a grantee. Where a case needs hospital-b's copy of a chain to lag behind
 * the custodian (replication delay), its ingestion is held for that chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildErasure, buildGrant, buildRevoke, fromHex, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { examBody, newEntryIdHex } from './helpers/exam-bodies.js'
import { call, enrolOverHttp, staffToken, startConsortium, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { signAsUser, userWriteBody, type TestChain } from './helpers/user-writes.js'

let consortium: TestConsortium
let a: TestNode
let b: TestNode
let c: TestNode

interface Enrolled extends TestChain { readonly user: UserKeys, readonly userToken: string }

async function enrol (): Promise<Enrolled> {
  const { user, chainKey } = await enrolOverHttp(a, await staffToken(a))
  await waitUntil(async () => b.daemon.ledger.hasChain(user.userId) && (await b.daemon.ledger.chain(user.userId)).verifiedLength >= 1, 'hospital-b to replicate')
  return { user, chainKey: fromHex(chainKey, 32, 'chainKey'), userToken: await userToken(a, user) }
}

async function lengthAt (node: TestNode, user: UserId): Promise<number> {
  return (await node.daemon.ledger.chain(user)).length
}

async function verifiedAt (node: TestNode, user: UserId): Promise<number> {
  return (await node.daemon.ledger.chain(user)).verifiedLength
}

async function waitVerified (node: TestNode, user: UserId): Promise<void> {
  const length = await lengthAt(a, user)
  await waitUntil(async () => await verifiedAt(node, user) >= length, `${node.id} to verify ${length} entries`)
}

/** The user signs `unsigned` for the chain's next position at hospital-a and writes it there. */
async function userWrites (who: Enrolled, unsigned: UnsignedEntry): Promise<number> {
  const seq = await lengthAt(a, who.user.userId)
  const reply = await call(a.url, 'POST', `/v1/users/${who.user.userId}/entries`, { token: who.userToken, body: userWriteBody(signAsUser(who, unsigned, seq), seq) })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return seq
}

async function writeAt (node: TestNode, user: UserId, body: object): Promise<{ status: number, body: any }> {
  return await call(node.url, 'POST', `/v1/users/${user}/entries`, { token: await staffToken(node), body })
}

/** Holds `node`'s ingestion of `user`'s chain (replication delay): nothing new is verified there until the returned release. */
async function holdIngest (node: TestNode, user: UserId): Promise<() => Promise<void>> {
  const chain: any = await node.daemon.ledger.chain(user)
  chain.hold()
  const queueIngest = chain.queueIngest
  chain.queueIngest = async () => ({ added: 0, problem: undefined })
  return async () => {
    chain.queueIngest = queueIngest
    chain.release()
    await chain.ingest()
  }
}

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner']])
  a = consortium.node('hospital-a')
  b = consortium.node('hospital-b')
  c = consortium.node('hospital-c')
}, 90_000)

afterAll(async () => { await consortium?.close() })

describe('a retry through the forwarding node after the first attempt was refused', () => {
  it('is sealed again for the chain as it is now, not resent as it was refused (a revoked grantee)', async () => {
    const who = await enrol()
    const user = who.user.userId
    const grant = { examiner: c.id as never, examinerBox: c.daemon.keys.box.publicKey, chainKey: who.chainKey, userBox: who.user.box }
    await userWrites(who, buildGrant(grant, crypto))
    await waitVerified(b, user)
    // hospital-b has not received the revocation yet when its examiner writes.
    const release = await holdIngest(b, user)
    await userWrites(who, buildRevoke(c.id as never, {}, crypto))
    const id = newEntryIdHex()
    const first = await writeAt(b, user, { ...examBody(120), id })
    expect(first.status).toBe(403)
    expect(first.body.error.code).toBe('CONSENT_VIOLATION')
    // hospital-b catches up, and the hospital's system retries the write the custodian refused.
    await release()
    await waitVerified(b, user)
    const length = await lengthAt(a, user)
    // Control: the same exam without an id is sealed for the chain as it is now, and written.
    expect((await writeAt(b, user, examBody(121))).status).toBe(201)
    const retry = await writeAt(b, user, { ...examBody(120), id })
    expect(retry.body).toMatchObject({ id, duplicate: false })
    expect(retry.status).toBe(201)
    expect(await lengthAt(a, user)).toBe(length + 2)
  })
})

describe('the forwarding node\'s memory of what it sealed', () => {
  it('still answers the stored exam\'s retry as a duplicate after a conflicting write under its id', async () => {
    const who = await enrol()
    const user = who.user.userId
    const release = await holdIngest(b, user)
    try {
      const id = newEntryIdHex()
      const first = await writeAt(b, user, { ...examBody(130), id })
      expect(first.status).toBe(201)
      // Another exam under the same id: rightly refused.
      const other = await writeAt(b, user, { ...examBody(131), id })
      expect(other.status).toBe(409)
      // The first exam's retry (its answer was lost): it is stored, at first.body.seq.
      const retry = await writeAt(b, user, { ...examBody(130), id })
      expect(retry.body).toEqual({ seq: first.body.seq, id, duplicate: true })
    } finally {
      await release()
    }
  })

  it('answers two sends of one exam that overlap while it seals with one position, and a later retry too', async () => {
    const who = await enrol()
    const user = who.user.userId
    const release = await holdIngest(b, user)
    const sealer = b.daemon.context.sealer
    const seal = sealer.seal.bind(sealer)
    const network = b.daemon.network
    const append = network.append.bind(network)
    const gates: Array<() => void> = []
    let forwarded = 0
    sealer.seal = async (job) => {
      const sealed = await seal(job)
      await new Promise<void>((resolve) => gates.push(resolve))
      return sealed
    }
    network.append = async (...args) => {
      forwarded++
      return await append(...args)
    }
    try {
      const id = newEntryIdHex()
      const length = await lengthAt(a, user)
      // The caller gave up waiting and sent the same exam again while the first was still being sealed.
      const first = writeAt(b, user, { ...examBody(140), id })
      await waitUntil(() => gates.length === 1, 'the first attempt to seal')
      const second = writeAt(b, user, { ...examBody(140), id })
      // The second send waits for the first one's sealing (nothing shows it is waiting: it has time to get there).
      await new Promise((resolve) => setTimeout(resolve, 300))
      gates[0]!()
      await waitUntil(() => forwarded === 2, 'both sends to be forwarded')
      const answers = [await first, await second]
      sealer.seal = seal
      expect(gates.length, 'sealings').toBe(1)
      // A third send, once both are answered (hospital-b has not verified the exam yet).
      const late = await writeAt(b, user, { ...examBody(140), id })
      expect(await lengthAt(a, user)).toBe(length + 1)
      expect([...answers, late].map((r) => [r.status, r.body.seq])).toEqual([[201, length], [201, length], [201, length]])
    } finally {
      sealer.seal = seal
      network.append = append
      for (const gate of gates) gate()
      await release()
    }
  })
})

describe('a retry answered from the forwarding node\'s own copy of the chain', () => {
  it('does not acknowledge another institution\'s erased exam as this institution\'s write', async () => {
    const who = await enrol()
    const user = who.user.userId
    const id = newEntryIdHex()
    const written = await writeAt(a, user, { ...examBody(150), id })
    expect(written.status).toBe(201)
    await userWrites(who, buildErasure([written.body.seq], {}, crypto))
    await waitVerified(b, user)
    const length = await lengthAt(a, user)
    // hospital-b's exam under the id hospital-a's (erased) exam had: not hospital-b's, never written by it.
    const reply = await writeAt(b, user, { ...examBody(999, 'something else entirely'), id })
    expect(await lengthAt(a, user)).toBe(length)
    expect(reply.body).not.toMatchObject({ duplicate: true })
    expect(reply.status).toBe(409)
  })
})

describe('a retry at the custodian while the first attempt is being written', () => {
  it('is answered as a duplicate at the first attempt\'s position, not refused as a malformed request for a position not written yet', async () => {
    const who = await enrol()
    const user = who.user.userId
    const chain: any = await a.daemon.ledger.chain(user)
    chain.hold()
    const core = chain.appends.chain.core
    const append = core.append.bind(core)
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let appends = 0
    core.append = async (...args: unknown[]) => {
      if (++appends === 1) await gate
      return await append(...args)
    }
    try {
      const id = newEntryIdHex()
      const length = await lengthAt(a, user)
      const first = writeAt(a, user, { ...examBody(160), id })
      await waitUntil(() => appends === 1, 'the first attempt to be written')
      const sent = writeAt(a, user, { ...examBody(160), id })
      // The retry finds the id in the batch being written and waits for it (nothing shows it is waiting: it has time to get there).
      await new Promise((resolve) => setTimeout(resolve, 300))
      release()
      const retry = await sent
      expect((await first).status).toBe(201)
      expect(await lengthAt(a, user)).toBe(length + 1)
      // It is stored, at `length`: the retry is that write (today: 422 INVALID_FIELD "position N is outside the chain").
      expect(retry.body).toEqual({ seq: length, id, duplicate: true })
    } finally {
      release()
      core.append = append
      chain.release()
    }
  })
})
