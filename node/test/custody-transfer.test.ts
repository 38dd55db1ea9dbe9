/**
 * A chain moving to a new custodian, on running daemons (a regulator hosting
 * the registry, hospital-a and hospital-b, examiners; every node a replica of
 * every chain): the user moves with `healthchain user transfer` and only a
 * phrase file; hospital-b continues the chain under a new key, whose history
 * is the old chain's, and writes go on there. The refusals over HTTP: a
 * migrate not signed by the user, one naming a head that does not exist, a
 * second migrate, a transfer to a non-examiner or a suspended examiner, a
 * take-over without a reassignment. Then hospital-a's data directory is
 * deleted while it holds a chain, and its user moves to hospital-b from the
 * replicas, the history still readable and verifiable.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildMigrate, bytesToHex, decodeEntry, encodeEntry, encodeRegistryEntry, fromHex, newEntryId, newRecoveryPhrase, REGISTRY_VERSION, signEntry,
  signRegistryEntry, userKeysFromPhrase, type Entry, type UserKeys
} from '@healthchain/core'
import { readPartyKeys, readRecoveryPhrase } from '@healthchain/ledger'
import { plainOf } from '../src/cli/user-custody.js'
import { cli, errorCode } from './helpers/cli.js'
import { call, startConsortium, staffToken, userToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'

const EXAM = (value: number, notes: string) => ({
  type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] }, sealed: { notes }
})

const DAY_MS = 86_400_000

let net: TestConsortium
const a = (): TestNode => net.node('hospital-a')
const b = (): TestNode => net.node('hospital-b')
const regulator = (): TestNode => net.node('regulator')

/** A user made with `user new`, enrolled at `node` with `user enrol` (the genesis commits to the next keys). */
async function enrolledUser (name: string, node: TestNode): Promise<{ phraseFile: string, keys: UserKeys, phrase: string }> {
  const phraseFile = join(net.dir, `${name}.phrase.json`)
  expect((await cli(['user', 'new', '--out', phraseFile])).code).toBe(0)
  const enrolled = await cli(['user', 'enrol', '--api', node.url, '--api-key', node.apiKey, '--phrase-file', phraseFile, '--json'])
  expect(enrolled.code, enrolled.stderr).toBe(0)
  const phrase = await readRecoveryPhrase(phraseFile)
  return { phraseFile, phrase, keys: userKeysFromPhrase(phrase, crypto) }
}

async function writeExam (node: TestNode, user: UserKeys, value: number, notes: string): Promise<number> {
  const reply = await call(node.url, 'POST', `/v1/users/${user.userId}/entries`, { token: await staffToken(node), body: EXAM(value, notes) })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.seq
}

async function replicatedTo (node: TestNode, user: UserKeys, from: TestNode): Promise<void> {
  const length = (await from.daemon.ledger.chain(user.userId)).length
  await waitUntil(async () => node.daemon.ledger.hasChain(user.userId) && (await node.daemon.ledger.chain(user.userId)).verifiedLength >= length,
    `${node.id} to hold ${length} blocks of the chain`)
}

beforeAll(async () => {
  net = await startConsortium([['regulator', 'regulator'], ['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
}, 60_000)
afterAll(async () => { await net?.close() })

describe('a voluntary transfer with `user transfer`', () => {
  let alice: Awaited<ReturnType<typeof enrolledUser>>
  let oldKey: string
  let moved: any

  it('moves the chain from hospital-a to hospital-b; the history is the new chain\'s, and writes go on there', async () => {
    alice = await enrolledUser('alice', a())
    await writeExam(a(), alice.keys, 120, 'before the move')
    const asUserA = ['--api', a().url, '--institution', 'hospital-a', '--phrase-file', alice.phraseFile]
    const data = JSON.stringify({ start: '2025-01-01T07:00:00Z', end: '2025-01-01T08:00:00Z', observations: [{ code: '55423-8', value: 6200, unit: '{steps}' }] })
    expect((await cli(['user', 'write', ...asUserA, '--type', 'exercise', '--data', data])).code).toBe(0)
    oldKey = bytesToHex((await a().daemon.ledger.chain(alice.keys.userId)).key)
    await replicatedTo(b(), alice.keys, a())
    const N = (await a().daemon.ledger.chain(alice.keys.userId)).length

    const run = await cli(['user', 'transfer', '--to', 'hospital-b', '--api', b().url, '--phrase-file', alice.phraseFile, '--json'])
    expect(run.code, run.stderr).toBe(0)
    moved = run.json()
    expect(moved).toMatchObject({ userId: alice.keys.userId, custodian: 'hospital-b', from: oldKey, length: N })
    expect(moved.chainKey).not.toBe(oldKey)
    expect(run.stderr).toContain('asking hospital-b for its offer')

    // hospital-b is the custodian now: an exam and the user's own write are appended there, after the migrate.
    const examSeq = await writeExam(b(), alice.keys, 135, 'after the move')
    expect(examSeq).toBe(N + 1)
    const asUserB = ['--api', b().url, '--institution', 'hospital-b', '--phrase-file', alice.phraseFile]
    const write = await cli(['user', 'write', ...asUserB, '--type', 'exercise', '--data', data, '--json'])
    expect(write.code, write.stderr).toBe(0)
    expect(write.json()).toMatchObject({ seq: N + 2 })

    const summary = await call(b().url, 'GET', `/v1/users/${alice.keys.userId}`, { token: await staffToken(b()) })
    expect(summary.body).toMatchObject({ chainKey: moved.chainKey, custodian: 'hospital-b', length: N + 3 })
    const verify = await call(b().url, 'GET', `/v1/users/${alice.keys.userId}/verify`, { token: await staffToken(b()) })
    expect(verify.body).toMatchObject({ chainKey: moved.chainKey, valid: true, length: N + 3, problems: [] })
    expect(verify.body.segments).toEqual([{ key: oldKey, start: 0, end: N }, { key: moved.chainKey, start: N, end: N + 3 }])

    // The regulator's replica follows the move and verifies the whole history, both cores.
    await waitUntil(async () => {
      const held = await regulator().daemon.ledger.chain(alice.keys.userId)
      return bytesToHex(held.key) === moved.chainKey && held.verifiedLength >= N + 3
    }, 'the regulator to follow the move')
    const atRegulator = await call(regulator().url, 'GET', `/v1/users/${alice.keys.userId}/verify`, { token: await staffToken(regulator()) })
    expect(atRegulator.body).toMatchObject({ chainKey: moved.chainKey, valid: true, length: N + 3, verified: N + 3, problems: [], forked: false })
    expect(atRegulator.body.segments).toHaveLength(2)
  })

  it('shows the history before and after the move as one chain: the user opens every seal, FHIR and the index span both', async () => {
    const read = await cli(['user', 'read', '--api', b().url, '--institution', 'hospital-b', '--phrase-file', alice.phraseFile, '--type', 'exam', '--json'])
    expect(read.code, read.stderr).toBe(0)
    const exams = read.json().entries
    expect(exams.map((e: any) => e.sealed)).toEqual([
      { readable: true, data: { notes: 'before the move' } }, { readable: true, data: { notes: 'after the move' } }
    ])
    // The exam written at hospital-a stays bound to the old core's key.
    expect(exams[0].segmentKey).toBe(oldKey)
    expect(exams[1].segmentKey).toBeUndefined()

    const token = await staffToken(b())
    const fhir = await call(b().url, 'GET', `/v1/users/${alice.keys.userId}/fhir`, { token })
    expect(fhir.status).toBe(200)
    const values = JSON.stringify(fhir.body)
    expect(values).toContain('120')
    expect(values).toContain('135')
    await waitUntil(async () => {
      const series = await call(b().url, 'GET', `/v1/users/${alice.keys.userId}/series?code=8480-6`, { token })
      return series.status === 200 && JSON.stringify(series.body).includes('135') && JSON.stringify(series.body).includes('120')
    }, 'the query index at hospital-b to hold the exams before and after the move')
  })

  it('answers a retry of the same migrate the same, and refuses a second one (409 ALREADY_ENROLLED)', async () => {
    const token = await userToken(b(), alice.keys)
    const held = await b().daemon.ledger.chain(alice.keys.userId)
    const migrate = await held.get(moved.length)
    const again = await call(b().url, 'POST', `/v1/users/${alice.keys.userId}/continuation`, { token, body: { migrate: bytesToHex(encodeEntry(migrate!)) } })
    expect(again.status, JSON.stringify(again.body)).toBe(201)
    expect(again.body).toMatchObject({ chainKey: moved.chainKey, length: moved.length })
    if (migrate?.type !== 'migrate') throw new Error('no migrate at N')
    const second = signEntry(buildMigrate(migrate.plain, {}, crypto), { chainKey: held.key, seq: moved.length }, alice.keys.sign.secretKey, crypto)
    const refused = await call(b().url, 'POST', `/v1/users/${alice.keys.userId}/continuation`, { token, body: { migrate: bytesToHex(encodeEntry(second)) } })
    expect([refused.status, refused.body.error.code]).toEqual([409, 'ALREADY_ENROLLED'])
  })
})

describe('refusals over HTTP', () => {
  let bob: Awaited<ReturnType<typeof enrolledUser>>

  beforeAll(async () => {
    bob = await enrolledUser('bob', a())
    await writeExam(a(), bob.keys, 110, 'bob at hospital-a')
    await replicatedTo(b(), bob.keys, a())
    await replicatedTo(regulator(), bob.keys, a())
  })

  it('refuses a migrate not signed by the user, and one naming a head that does not exist', async () => {
    const token = await userToken(b(), bob.keys)
    const offer = await call(b().url, 'GET', `/v1/users/${bob.keys.userId}/continuation`, { token })
    expect(offer.status, JSON.stringify(offer.body)).toBe(200)
    expect(offer.body).toMatchObject({ userId: bob.keys.userId, fetched: 0, plain: { to: 'hospital-b', lineage: [] } })
    const plain = plainOf(offer.body.plain)
    const slot = { chainKey: fromHex(offer.body.key, 32, 'key'), seq: offer.body.length as number }
    const post = async (entry: Entry): Promise<any> =>
      await call(b().url, 'POST', `/v1/users/${bob.keys.userId}/continuation`, { token, body: { migrate: bytesToHex(encodeEntry(entry)) } })

    const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const notTheUsers = await post(signEntry(buildMigrate(plain, {}, crypto), slot, stranger.sign.secretKey, crypto))
    expect([notTheUsers.status, notTheUsers.body.error.code]).toEqual([422, 'BAD_SIGNATURE'])

    const further = { ...plain, length: plain.length + 5 }
    const noSuchHead = await post(signEntry(buildMigrate(further, {}, crypto), { ...slot, seq: further.length }, bob.keys.sign.secretKey, crypto))
    expect([noSuchHead.status, noSuchHead.body.error.code]).toEqual([422, 'INVALID_FIELD'])
    expect(bytesToHex((await b().daemon.ledger.chain(bob.keys.userId)).key)).toBe(bytesToHex((await a().daemon.ledger.chain(bob.keys.userId)).key))
  })

  it('refuses a transfer to a non-examiner, and a take-over without a reassignment', async () => {
    const atRegulator = await cli(['user', 'transfer', '--to', 'regulator', '--api', regulator().url, '--phrase-file', bob.phraseFile])
    expect(errorCode(atRegulator)).toBe('ROLE_FORBIDDEN')
    const takeOver = await cli(['custody', 'take-over', '--user', bob.keys.userId, '--api', b().url, '--api-key', b().apiKey])
    expect(errorCode(takeOver)).toBe('ROLE_FORBIDDEN')
    const asUser = await call(b().url, 'POST', `/v1/users/${bob.keys.userId}/continuation`, { token: await userToken(b(), bob.keys), body: { reassigned: true } })
    expect([asUser.status, asUser.body.error.code]).toEqual([403, 'FORBIDDEN'])
  })
})

describe('`user rotate`', () => {
  it('puts the next key generation in force: the old key is refused at login, old seals still open, new exams sealed to the new box key', async () => {
    const carol = await enrolledUser('carol', a())
    await writeExam(a(), carol.keys, 118, 'before the rotation')
    const asUser = ['--api', a().url, '--institution', 'hospital-a', '--phrase-file', carol.phraseFile]
    const run = await cli(['user', 'rotate', ...asUser, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ userId: carol.keys.userId, generation: 1, seq: 2 })

    // Generation 0's key, derived from the same phrase, no longer logs in.
    await expect(userToken(a(), carol.keys)).rejects.toThrow(/LOGIN_REFUSED/)
    const next = userKeysFromPhrase(carol.phrase, crypto, 1)
    expect(typeof await userToken(a(), next)).toBe('string')
    // The CLI's logins from here on sign once with the generation the challenge names: no further failed login is counted.
    const failed = a().daemon.context.sessions.failedLogins(carol.keys.userId)
    expect(failed).toBe(1)

    const seq = await writeExam(a(), carol.keys, 122, 'after the rotation')
    const encoded = await call(a().url, 'GET', `/v1/users/${carol.keys.userId}/entries?type=exam&encoded=true`, { token: await staffToken(a()) })
    const view = encoded.body.entries.find((e: any) => e.seq === seq)
    const entry = decodeEntry(fromHex(view.encoded, view.encoded.length / 2, 'encoded'))
    if (entry.type !== 'exam' || entry.sealed === undefined) throw new Error('not a sealed exam')
    const recipients = entry.sealed.to.map((r) => bytesToHex(r.key))
    expect(recipients).toContain(bytesToHex(next.box.publicKey))
    expect(recipients).not.toContain(bytesToHex(carol.keys.box.publicKey))

    const write = await cli(['user', 'write', ...asUser, '--type', 'location', '--data', '{"points":[{"lat":52.5,"lon":13.4,"acc":8,"time":"2025-01-01T07:30:00Z"}]}'])
    expect(write.code, write.stderr).toBe(0)
    const read = await cli(['user', 'read', ...asUser, '--type', 'exam', '--json'])
    expect(read.code, read.stderr).toBe(0)
    expect(read.json().entries.map((e: any) => e.sealed)).toEqual([
      { readable: true, data: { notes: 'before the rotation' } }, { readable: true, data: { notes: 'after the rotation' } }
    ])
    expect(a().daemon.context.sessions.failedLogins(carol.keys.userId)).toBe(failed)
  })

  it('a user rotated twice logs in with generation 2 at once: every CLI login granted, none refused, old seals open', async () => {
    const erin = await enrolledUser('erin', a())
    await writeExam(a(), erin.keys, 117, 'generation 0')
    const asUser = ['--api', a().url, '--institution', 'hospital-a', '--phrase-file', erin.phraseFile]
    for (const generation of [1, 2]) {
      const run = await cli(['user', 'rotate', ...asUser, '--json'])
      expect(run.code, run.stderr).toBe(0)
      expect(run.json()).toMatchObject({ generation })
      await writeExam(a(), erin.keys, 117 + generation, `generation ${generation}`)
    }
    const read = await cli(['user', 'read', ...asUser, '--type', 'exam', '--json'])
    expect(read.code, read.stderr).toBe(0)
    expect(read.json().entries.map((e: any) => e.sealed.data.notes)).toEqual(['generation 0', 'generation 1', 'generation 2'])
    // Three logins (two rotations, one read), each one challenge signed by the generation in force: nothing refused, nothing counted.
    expect(a().daemon.context.sessions.failedLogins(erin.keys.userId)).toBe(0)
    const logins = (await a().daemon.audit.read()).map((l) => l.line).filter((l) => l.action === 'login' && l.actor === `user:${erin.keys.userId}`)
    expect(logins.map((l) => l.result)).toEqual(['granted', 'granted', 'granted'])
  })
})

describe('a custodian whose data directory is lost', () => {
  it('lets its user move to hospital-b with only the phrase file; the history stays readable and verifiable, and writes go on', async () => {
    const dave = await enrolledUser('dave', a())
    await writeExam(a(), dave.keys, 125, 'dave at hospital-a')
    const asUserA = ['--api', a().url, '--institution', 'hospital-a', '--phrase-file', dave.phraseFile]
    expect((await cli(['user', 'grant', ...asUserA, '--examiner', 'hospital-b'])).code).toBe(0)
    await replicatedTo(b(), dave.keys, a())
    await replicatedTo(regulator(), dave.keys, a())

    await net.stop('hospital-a')
    await rm(join(net.dir, 'hospital-a'), { recursive: true, force: true })

    const run = await cli(['user', 'transfer', '--to', 'hospital-b', '--api', b().url, '--phrase-file', dave.phraseFile, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ custodian: 'hospital-b' })
    await writeExam(b(), dave.keys, 119, 'dave at hospital-b')

    const staff = await call(b().url, 'GET', `/v1/users/${dave.keys.userId}/entries?type=exam`, { token: await staffToken(b()) })
    expect(staff.body.entries.map((e: any) => e.sealed)).toEqual([
      { readable: true, data: { notes: 'dave at hospital-a' } }, { readable: true, data: { notes: 'dave at hospital-b' } }
    ])
    const read = await cli(['user', 'read', '--api', b().url, '--institution', 'hospital-b', '--phrase-file', dave.phraseFile, '--type', 'exam', '--json'])
    expect(read.json().entries.map((e: any) => e.sealed.readable)).toEqual([true, true])
    const verify = await call(b().url, 'GET', `/v1/users/${dave.keys.userId}/verify`, { token: await staffToken(b()) })
    expect(verify.body).toMatchObject({ valid: true, problems: [] })
  })

  it('lets the users of a suspended custodian move at once', async () => {
    const governance = join(net.dir, 'governance.json')
    const suspend = await cli(['suspend', '--api', regulator().url, '--governance-key', governance, '--institution', 'hospital-a'])
    expect(suspend.code, suspend.stderr).toBe(0)
    await waitUntil(() => b().daemon.ledger.registry.state.institutionAt('hospital-a')?.status === 'suspended', 'hospital-b to see the suspension')
    // bob's chain is still at hospital-a (gone and suspended): he moves at once.
    const bobFile = join(net.dir, 'bob.phrase.json')
    const run = await cli(['user', 'transfer', '--to', 'hospital-b', '--api', b().url, '--phrase-file', bobFile, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ custodian: 'hospital-b' })
  })

  it('lets hospital-b take over a chain governance reassigned to it, once the notice period is over, for a user who did nothing', async () => {
    // carol's chain is still at hospital-a. The reassignment is dated back past the 30-day notice, so `after` is already reached.
    const governance = await readPartyKeys(join(net.dir, 'governance.json'))
    const registry = await call(regulator().url, 'GET', '/v1/registry')
    const time = Date.now() - 31 * DAY_MS
    const unsigned = { v: REGISTRY_VERSION, type: 'reassign', id: newEntryId(crypto), time, plain: { institution: 'hospital-a', to: 'hospital-b', after: time + 30 * DAY_MS } }
    const entry = signRegistryEntry(unsigned as Parameters<typeof signRegistryEntry>[0], {
      chainKey: fromHex(registry.body.key, 32, 'key'), seq: registry.body.length
    }, governance.sign.secretKey, crypto)
    const appended = await call(regulator().url, 'POST', '/v1/registry', { body: { entry: bytesToHex(encodeRegistryEntry(entry)) } })
    expect(appended.status, JSON.stringify(appended.body)).toBe(201)
    await waitUntil(() => b().daemon.ledger.registry.state.reassignmentOf('hospital-a') !== undefined, 'hospital-b to have the reassignment')

    const carol = userKeysFromPhrase(await readRecoveryPhrase(join(net.dir, 'carol.phrase.json')), crypto)
    const run = await cli(['custody', 'take-over', '--user', carol.userId, '--api', b().url, '--api-key', b().apiKey, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ userId: carol.userId, custodian: 'hospital-b' })
    const chain = await b().daemon.ledger.chain(carol.userId)
    const migrate = await chain.get(run.json().length)
    expect(migrate).toMatchObject({ type: 'migrate', author: 'hospital-b' })
    expect(chain.user?.generation).toBe(1)
    await writeExam(b(), carol, 121, 'carol at hospital-b')
    const verify = await call(b().url, 'GET', `/v1/users/${carol.userId}/verify`, { token: await staffToken(b()) })
    expect(verify.body).toMatchObject({ valid: true, problems: [] })
    // The user's own read opens the exams of both generations and both custodians.
    const read = await cli(['user', 'read', '--api', b().url, '--institution', 'hospital-b', '--phrase-file', join(net.dir, 'carol.phrase.json'), '--type', 'exam', '--json'])
    expect(read.code, read.stderr).toBe(0)
    expect(read.json().entries.map((e: any) => e.sealed.readable)).toEqual([true, true, true])
  })
})
