/**
 * The read APIs the web console needs, over real HTTP against a real
 * three-node consortium (an examiner that is custodian, an inquirer, a
 * regulator that witnesses), libp2p on 127.0.0.1:
 *   - entries with their encoded bytes, whose author signatures the caller
 *     checks itself (and who may not take them);
 *   - a chain's signed head and the regulator's cosignatures, checked with
 *     net's verifyHead / verifyCosignature and the browser's own checks;
 *   - finding a patient by the start of the user id;
 *   - GET /v1/network: connections, custodian counts, lag, and a fork
 *     made by the custodian signing two histories, seen on every node.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  decodeEntry, fromHex, nobleProvider, utf8ToBytes, verifyEntrySignature, type InstitutionId, type UserId, type UserKeys
} from '@healthchain/core'
import { coreOf, storeOf } from '@healthchain/ledger/testing'
import { HEADS_TOPIC, encodeHeadsAnnouncement, headOf, verifyCosignature, verifyHead, type SignedHead } from '@healthchain/net'
import * as browser from '@healthchain/net/browser'
import {
  call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type Reply, type TestConsortium, type TestNode
} from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

const EXAM = { type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] }, sealed: { notes: 'follow up' } }

interface Patient { readonly user: UserKeys, readonly chainKey: string }

let net: TestConsortium
let hospital: TestNode
let agency: TestNode
let regulator: TestNode
const tokens = new Map<string, string>()
const patients: Patient[] = []
const scratch: string[] = []

const token = (node: TestNode): string => tokens.get(node.id)!

async function writeExam (patient: Patient): Promise<void> {
  const reply = await call(hospital.url, 'POST', `/v1/users/${patient.user.userId}/entries`, { token: token(hospital), body: EXAM })
  expect(reply.status).toBe(201)
}

async function lengthAt (node: TestNode, user: UserId): Promise<number> {
  const reply = await call(node.url, 'GET', `/v1/users/${user}`, { token: token(node) })
  return reply.status === 200 ? reply.body.length as number : -1
}

async function replicated (user: UserId, length: number): Promise<void> {
  for (const node of [agency, regulator]) await waitUntil(async () => await lengthAt(node, user) === length, `${node.id} to hold ${user} at ${length}`)
}

function refusedWith (reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code })
}

function headOfView (view: { key: string, signer: string, length: number, fork: number, root: string, sig: string }): SignedHead {
  return { v: 1, ...browser.headFromJson(view) }
}

function registryKeyOf (node: TestNode, id: string): Uint8Array {
  return node.daemon.ledger.registry.state.institutionAt(id)!.sign
}

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['agency-q', 'inquirer'], ['regulator-r', 'regulator']])
  hospital = net.node('hospital-a')
  agency = net.node('agency-q')
  regulator = net.node('regulator-r')
  for (const node of [hospital, agency, regulator]) tokens.set(node.id, await staffToken(node))
  for (let i = 0; i < 3; i++) patients.push(await enrolOverHttp(hospital, token(hospital)))
  await writeExam(patients[0]!)
  await writeExam(patients[0]!)
  for (const p of patients) await replicated(p.user.userId, p === patients[0] ? 3 : 1)
}, 60_000)

afterAll(async () => {
  await net?.close()
  for (const dir of scratch) await rm(dir, { recursive: true, force: true })
})

describe('GET /v1/users/{id}/entries?encoded=true', () => {
  it('gives examiners every entry\'s stored bytes, whose author signatures verify for their position in the chain', async () => {
    const { user, chainKey } = patients[0]!
    const slotKey = fromHex(chainKey, 32, 'chainKey')
    const reply = await call(hospital.url, 'GET', `/v1/users/${user.userId}/entries?encoded=true&start=0`, { token: token(hospital) })
    expect(reply.status).toBe(200)
    expect(reply.body.entries.map((e: { seq: number }) => e.seq)).toEqual([0, 1, 2])
    for (const view of reply.body.entries) {
      const entry = decodeEntry(fromHex(view.encoded, view.encoded.length / 2, 'encoded'))
      expect(entry.type).toBe(view.type)
      const author = entry.author === 'user' ? user.sign.publicKey : registryKeyOf(hospital, entry.author)
      expect(verifyEntrySignature(entry, { chainKey: slotKey, seq: view.seq }, author, nobleProvider)).toBe(true)
      // Bound to its slot: the same bytes do not verify one position on.
      expect(verifyEntrySignature(entry, { chainKey: slotKey, seq: view.seq + 1 }, author, nobleProvider)).toBe(false)
    }
    // Without the flag, no bytes.
    const plain = await call(hospital.url, 'GET', `/v1/users/${user.userId}/entries`, { token: token(hospital) })
    expect(plain.body.entries.every((e: object) => !('encoded' in e))).toBe(true)
  })

  it('gives a user their own chain\'s bytes, the genesis included, signed by their own key', async () => {
    const { user, chainKey } = patients[0]!
    const reply = await call(hospital.url, 'GET', `/v1/users/${user.userId}/entries?type=genesis&encoded=true`, { token: await userToken(hospital, user) })
    expect(reply.status).toBe(200)
    expect(reply.body.entries).toHaveLength(1)
    const genesis = decodeEntry(fromHex(reply.body.entries[0].encoded, reply.body.entries[0].encoded.length / 2, 'encoded'))
    expect(genesis.type).toBe('genesis')
    expect(verifyEntrySignature(genesis, { chainKey: fromHex(chainKey, 32, 'chainKey'), seq: 0 }, user.sign.publicKey, nobleProvider)).toBe(true)
  })

  it('refuses the bytes to inquirers and regulators (403), to a user on another\'s chain (403), and a bad flag (400)', async () => {
    const user = patients[0]!.user.userId
    refusedWith(await call(agency.url, 'GET', `/v1/users/${user}/entries?encoded=true`, { token: token(agency) }), 403, 'FORBIDDEN')
    refusedWith(await call(regulator.url, 'GET', `/v1/users/${user}/entries?encoded=true`, { token: token(regulator) }), 403, 'FORBIDDEN')
    // The plain read stays theirs.
    expect((await call(agency.url, 'GET', `/v1/users/${user}/entries`, { token: token(agency) })).status).toBe(200)
    const other = await userToken(hospital, patients[1]!.user)
    refusedWith(await call(hospital.url, 'GET', `/v1/users/${user}/entries?encoded=true`, { token: other }), 403, 'FORBIDDEN')
    refusedWith(await call(hospital.url, 'GET', `/v1/users/${user}/entries?encoded=yes`, { token: token(hospital) }), 400, 'BAD_REQUEST')
  })
})

describe('GET /v1/users/{id}/head', () => {
  it('gives the custodian\'s signed head, as long as the chain, verified by the node\'s and the browser\'s checks', async () => {
    const { user, chainKey } = patients[0]!
    const reply = await call(hospital.url, 'GET', `/v1/users/${user.userId}/head`, { token: token(hospital) })
    expect(reply.status).toBe(200)
    expect(reply.body.chainKey).toBe(chainKey)
    expect(reply.body.witnesses).toEqual(['regulator-r'])
    const head = headOfView(reply.body.head)
    expect(head.length).toBe(3)
    expect(head.length).toBe(await lengthAt(hospital, user.userId))
    expect(verifyHead(head, crypto)).toBe(true)
    expect(browser.verifyHead(head, nobleProvider)).toBe(true)
    expect(verifyHead({ ...head, length: 2 }, crypto)).toBe(false)
  })

  it('gives the regulator\'s cosignature of the replica\'s head, valid under its registry key, at the regulator and at the custodian', async () => {
    const { user } = patients[0]!
    for (const node of [regulator, hospital]) {
      const reply = await call(node.url, 'GET', `/v1/users/${user.userId}/head`, { token: token(node) })
      expect(reply.status).toBe(200)
      expect(reply.body.head.length).toBe(3)
      const cosignatures = reply.body.cosignatures as Array<{ witness: string, head: never, sig: string }>
      expect(cosignatures.length).toBeGreaterThan(0)
      const newest = { v: 1 as const, witness: cosignatures[0]!.witness as InstitutionId, head: headOfView(cosignatures[0]!.head), sig: fromHex(cosignatures[0]!.sig, 64, 'sig') }
      expect(newest.witness).toBe('regulator-r')
      expect(newest.head.length).toBe(3)
      expect(verifyCosignature(newest, registryKeyOf(node, 'regulator-r'), crypto)).toBe(true)
      expect(browser.verifyCosignature(newest, registryKeyOf(node, 'regulator-r'), nobleProvider)).toBe(true)
      // Not under another institution's key.
      expect(verifyCosignature(newest, registryKeyOf(node, 'hospital-a'), crypto)).toBe(false)
    }
  })

  it('is open to the inquirer, and refused for another user\'s chain (403), a chain not held (404), a bad id (400), no token (401)', async () => {
    const user = patients[1]!.user.userId
    const atAgency = await call(agency.url, 'GET', `/v1/users/${user}/head`, { token: token(agency) })
    expect(atAgency.status).toBe(200)
    expect(atAgency.body.head.length).toBe(1)
    const other = await userToken(hospital, patients[2]!.user)
    refusedWith(await call(hospital.url, 'GET', `/v1/users/${user}/head`, { token: other }), 403, 'FORBIDDEN')
    refusedWith(await call(hospital.url, 'GET', `/v1/users/${'a'.repeat(32)}/head`, { token: token(hospital) }), 404, 'UNKNOWN_CHAIN')
    refusedWith(await call(hospital.url, 'GET', '/v1/users/not-a-user/head', { token: token(hospital) }), 400, 'BAD_REQUEST')
    refusedWith(await call(hospital.url, 'GET', `/v1/users/${user}/head`), 401, 'MISSING_TOKEN')
  })
})

describe('GET /v1/users?prefix=', () => {
  it('finds chains held here by the start of the user id, in any case, at most `limit`', async () => {
    const ids = patients.map((p) => p.user.userId).sort()
    for (const node of [hospital, agency, regulator]) {
      for (const id of ids) {
        const reply = await call(node.url, 'GET', `/v1/users?prefix=${id.slice(0, 6).toUpperCase()}`, { token: token(node) })
        expect(reply.status).toBe(200)
        expect(reply.body.users).toContainEqual({ userId: id, custodian: 'hospital-a', length: id === patients[0]!.user.userId ? 3 : 1, forked: false })
        expect(reply.body.users.every((u: { userId: string }) => u.userId.startsWith(id.slice(0, 6)))).toBe(true)
      }
    }
    const whole = await call(hospital.url, 'GET', `/v1/users?prefix=${ids[1]}`, { token: token(hospital) })
    expect(whole.body.users.map((u: { userId: string }) => u.userId)).toEqual([ids[1]])
    // Every id starts with a letter of a-z or 2-7: one-character prefixes over the alphabet find them all, `limit` caps each answer.
    const found: string[] = []
    for (const c of 'abcdefghijklmnopqrstuvwxyz234567') {
      const reply = await call(hospital.url, 'GET', `/v1/users?prefix=${c}&limit=1`, { token: token(hospital) })
      expect(reply.body.users.length).toBeLessThanOrEqual(1)
      found.push(...reply.body.users.map((u: { userId: string }) => u.userId))
    }
    expect(new Set(found).size).toBe(found.length)
    expect(found.length).toBeGreaterThan(0)
  })

  it('answers a prefix nobody has with no users', async () => {
    const taken = new Set(patients.map((p) => p.user.userId.slice(0, 2)))
    const free = ['aa', 'ab', 'ac', 'ad', 'ae'].find((p) => !taken.has(p))!
    const reply = await call(hospital.url, 'GET', `/v1/users?prefix=${free}`, { token: token(hospital) })
    expect(reply).toEqual({ status: 200, body: { users: [] } })
  })

  it('refuses users (403), a bad prefix or limit (400), and no token (401)', async () => {
    const user = await userToken(hospital, patients[0]!.user)
    refusedWith(await call(hospital.url, 'GET', '/v1/users?prefix=ab', { token: user }), 403, 'FORBIDDEN')
    for (const query of ['', '?prefix=', '?prefix=ab1', '?prefix=' + 'a'.repeat(33), '?prefix=ab&limit=0', '?prefix=ab&limit=101', '?prefix=ab&limit=x']) {
      refusedWith(await call(hospital.url, 'GET', `/v1/users${query}`, { token: token(hospital) }), 400, 'BAD_REQUEST')
    }
    refusedWith(await call(hospital.url, 'GET', '/v1/users?prefix=ab'), 401, 'MISSING_TOKEN')
  })
})

describe('GET /v1/network', () => {
  const viewAt = async (node: TestNode): Promise<any> => {
    const reply = await call(node.url, 'GET', '/v1/network', { token: token(node) })
    expect(reply.status).toBe(200)
    return reply.body
  }

  it('shows every institution, connected, with the chains each is custodian of, once the census has counted them', async () => {
    for (const node of [hospital, agency, regulator]) {
      await waitUntil(async () => {
        const view = await viewAt(node)
        return view.census.counted === view.census.held
      }, `${node.id}'s census`)
      const view = await viewAt(node)
      expect(view.self).toEqual({ name: node.id, role: node.role, peerId: node.daemon.network.peerId })
      expect(view.census).toEqual({ counted: 3, held: 3 })
      expect(view.institutions.map((i: { id: string }) => i.id).sort()).toEqual(['agency-q', 'hospital-a', 'regulator-r'])
      for (const row of view.institutions) {
        expect(row.peerId).not.toBeNull()
        // Connected to the two others; a node holds no connection to itself.
        expect(row.connected).toBe(row.id !== node.id)
        expect(row.custodianOf).toBe(row.id === 'hospital-a' ? 3 : 0)
        expect(row.behind).toEqual({ chains: 0, blocks: 0 })
        expect(row.forked).toBe(0)
      }
      expect(view.forks).toEqual([])
      expect(view.lag).toEqual({ chainsBehind: 0, blocksBehind: 0 })
      expect(view.heads.received).toBeTypeOf('number')
      expect(view.heads['fetch.fetched']).toBeTypeOf('number')
    }
    // The regulator witnesses (it cosigned heads above); the others are no witness.
    expect((await viewAt(regulator)).witness.cosigned).toBeGreaterThan(0)
    expect((await viewAt(hospital)).witness).toBeNull()
  })

  it('shows a custodian that signed two histories: the fork on every node, its custodian flagged', async () => {
    const patient = await enrolOverHttp(hospital, token(hospital))
    const user = patient.user.userId
    await writeExam(patient)
    await replicated(user, 2)
    // The custodian's key pair in a second store (the same primary key, the same named core): another third block.
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-fork-'))
    scratch.push(dir)
    const store = new Corestore(dir, { primaryKey: storeOf(hospital.daemon.ledger).primaryKey!, unsafe: true })
    let other: SignedHead
    try {
      const twin = store.get({ name: `chain/${user}` })
      await twin.ready()
      const chain = await hospital.daemon.ledger.chain(user)
      for (let seq = 0; seq < 2; seq++) await twin.append((await coreOf(chain).get(seq))!)
      await twin.append(utf8ToBytes('another third block'))
      other = await headOf(twin)
    } finally {
      await store.close()
    }
    expect(other.key).toEqual(fromHex(patient.chainKey, 32, 'chainKey'))
    await writeExam(patient)
    await replicated(user, 3)
    await agency.daemon.network.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [other] }))

    for (const node of [hospital, agency, regulator]) {
      await waitUntil(async () => (await viewAt(node)).forks.length === 1, `${node.id} to show the fork`)
      const view = await viewAt(node)
      expect(view.forks).toEqual([{ chainKey: patient.chainKey, userId: user, custodian: 'hospital-a', kind: 'same-length', length: 3 }])
      const custodian = view.institutions.find((i: { id: string }) => i.id === 'hospital-a')
      expect(custodian.forked).toBe(1)
      expect(view.institutions.filter((i: { forked: number }) => i.forked > 0)).toHaveLength(1)
      expect(view.heads.forks).toBeGreaterThan(0)
    }
    // Found as forked too.
    const found = await call(agency.url, 'GET', `/v1/users?prefix=${user}`, { token: token(agency) })
    expect(found.body.users).toEqual([{ userId: user, custodian: 'hospital-a', length: 3, forked: true }])
  }, 60_000)

  it('refuses users (403), query parameters (400) and no token (401)', async () => {
    const user = await userToken(hospital, patients[0]!.user)
    refusedWith(await call(hospital.url, 'GET', '/v1/network', { token: user }), 403, 'FORBIDDEN')
    refusedWith(await call(hospital.url, 'GET', '/v1/network?all=1', { token: token(hospital) }), 400, 'BAD_REQUEST')
    refusedWith(await call(hospital.url, 'GET', '/v1/network'), 401, 'MISSING_TOKEN')
  })
})
