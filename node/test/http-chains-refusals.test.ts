/**
 * Bad input to the chain routes, over real HTTP against a real daemon: each
 * request is answered 4xx with `{ error: { code, message } }` and a stable
 * code, and writes nothing (every test chain keeps its length, the node its
 * chain count); a guarded route also leaves one audit line, `refused` with
 * that code. Then the cases that need more than one request: a replayed
 * entry (answered as a duplicate, written once), a revoked API key, and an
 * expired token.
 *
 * Token expiry runs on the real clock here (the daemon's token store has no
 * injected clock): a second daemon issues tokens with the shortest lifetime
 * its config allows (auth.tokenTtlSeconds: 10), the token is taken when the
 * file starts and used at the end, after its expiry time. Expiry at the
 * boundary, with an injected clock, is http-api.test.ts's.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildExam, buildGenesis, buildUserEntry, bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type Entry, type InstitutionId, type UserId
} from '@healthchain/core'
import { Daemon, parseConfig } from '../src/index.js'
import { prepareConsortium } from '../src/testing/index.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, type Reply, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto, makeTempDir, removeDir } from './helpers/fixtures.js'
import {
  auditSince, chainLength, exercisePlain, nextExercise, sendRaw, signAsUser, userWriteBody, type TestChain, type UserWriteBody
} from './helpers/user-writes.js'

const EXAM = { type: 'exam', plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] }, sealed: { notes: 'follow up' } }

interface Person extends TestChain { readonly token: string }

interface Ctx {
  readonly net: TestConsortium
  readonly a: TestNode
  readonly staff: string
  readonly alice: Person
  readonly bob: Person
  /** A well-formed user id no node holds a chain for. */
  readonly stranger: UserId
  readonly expiring: ExpiringToken
}

let ctx: Ctx | undefined

function c (): Ctx {
  if (ctx === undefined) throw new Error('the daemon did not start')
  return ctx
}

// ---------------------------------------------------------------- a second daemon, for token expiry

interface ExpiringToken {
  readonly daemon: Daemon
  readonly dir: string
  readonly token: string
  readonly expiresAt: number
  readonly user: UserId
}

/** One examiner node whose tokens live 10 s, a staff token from it, and a user enrolled there. */
async function startExpiringNode (): Promise<ExpiringToken> {
  const dir = await makeTempDir('healthchain-expiry-')
  const id = 'hospital-x' as InstitutionId
  const dataDir = join(dir, id)
  try {
    const { registryKey } = await prepareConsortium({
      parties: [{ id, role: 'examiner' }], dataDirOf: () => dataDir, governanceKeyPath: join(dir, 'governance.json'), name: 'Expiry'
    })
    const config = parseConfig({
      name: id,
      role: 'examiner',
      dataDir,
      api: { host: '127.0.0.1', port: 0 },
      auth: { tokenTtlSeconds: 10 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      registryKey: bytesToHex(registryKey)
    }, { baseDir: dir })
    const daemon = await Daemon.start(config)
    try {
      const { apiKey } = await daemon.apiKeys.create('expiry staff', 'examiner')
      const login = await call(daemon.apiUrl, 'POST', '/v1/session', { body: { apiKey } })
      const node: TestNode = { id, role: 'examiner', daemon, url: daemon.apiUrl, apiKey }
      // Enrolling with the token also shows it is good before it expires.
      const { user } = await enrolOverHttp(node, login.body.token)
      return { daemon, dir, token: login.body.token, expiresAt: Date.parse(login.body.expiresAt), user: user.userId }
    } catch (err) {
      await daemon.stop()
      throw err
    }
  } catch (err) {
    await removeDir(dir)
    throw err
  }
}

// ---------------------------------------------------------------- set-up

async function enrolPerson (a: TestNode, staff: string): Promise<Person> {
  const { user, chainKey } = await enrolOverHttp(a, staff)
  return { user, chainKey: fromHex(chainKey, 32, 'chainKey'), token: await userToken(a, user) }
}

let expiringNode: ExpiringToken | undefined
let consortium: TestConsortium | undefined

beforeAll(async () => {
  // Started first: its token's 10 s run while the other cases do.
  const expiring = expiringNode = await startExpiringNode()
  const net = consortium = await startConsortium([['hospital-a', 'examiner']])
  const a = net.node('hospital-a')
  const staff = await staffToken(a)
  const alice = await enrolPerson(a, staff)
  const bob = await enrolPerson(a, staff)
  // One entry each, so a chain is longer than its genesis.
  for (const p of [alice, bob]) {
    const reply = await call(a.url, 'POST', `/v1/users/${p.user.userId}/entries`, { token: p.token, body: (await nextExercise(a, p)).body })
    expect(reply.status).toBe(201)
  }
  ctx = { net, a, staff, alice, bob, stranger: userKeysFromPhrase(newRecoveryPhrase(), crypto).userId, expiring }
})

afterAll(async () => {
  await consortium?.close()
  await expiringNode?.daemon.stop()
  if (expiringNode !== undefined) await removeDir(expiringNode.dir)
})

// ---------------------------------------------------------------- checking a refusal

async function snapshot (x: Ctx): Promise<Record<string, number>> {
  return {
    alice: await chainLength(x.a, x.alice.user.userId),
    bob: await chainLength(x.a, x.bob.user.userId),
    chains: x.a.daemon.ledger.chainCount
  }
}

interface Refusal {
  readonly status: number
  readonly code: string
  /** The route writes an audit line (every /v1/users route; not an unknown route). */
  readonly audited?: boolean
}

/** Sends `request`, and expects it refused with `status`/`code`, nothing written, and (if audited) one `refused` line. */
async function expectRefused (request: (x: Ctx) => Promise<Reply>, refusal: Refusal): Promise<Reply> {
  const x = c()
  const before = await snapshot(x)
  // Each case in a fresh audit window: a repeated refusal without a valid token is otherwise counted, not its own line.
  await x.a.daemon.auditSink.flush()
  const auditFrom = x.a.daemon.audit.length
  const reply = await request(x)
  expect(reply.status, JSON.stringify(reply.body)).toBe(refusal.status)
  expect(reply.body).toMatchObject({ error: { code: refusal.code, message: expect.any(String) } })
  expect(Object.keys(reply.body.error).every((k) => ['code', 'message', 'field'].includes(k))).toBe(true)
  expect(await snapshot(x), 'a refusal writes nothing').toEqual(before)
  const lines = await auditSince(x.a, auditFrom)
  if (refusal.audited === false) {
    expect(lines).toEqual([])
  } else {
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ result: 'refused', code: refusal.code })
  }
  return reply
}

const entries = (p: Person | UserId): string => `/v1/users/${typeof p === 'string' ? p : p.user.userId}/entries`

/** Alice's next exercise, signed for `signedFor` (default her chain's next position), as a body claiming `claimed` (default the same). */
async function aliceExercise (
  x: Ctx, opts: { signedFor?: (next: number) => number, claimed?: (next: number) => number } = {}
): Promise<{ entry: Entry, body: UserWriteBody }> {
  const next = await chainLength(x.a, x.alice.user.userId)
  const signedFor = opts.signedFor?.(next) ?? next
  const entry = signAsUser(x.alice, buildUserEntry('exercise', exercisePlain(), {}, crypto), signedFor)
  return { entry, body: userWriteBody(entry, opts.claimed?.(next) ?? signedFor) }
}

// ---------------------------------------------------------------- the table

type Case = readonly [name: string, request: (x: Ctx) => Promise<Reply>, refusal: Refusal]

const postAsAlice = (body: unknown) => async (x: Ctx) => await call(x.a.url, 'POST', entries(x.alice), { token: x.alice.token, body })
const rawAsAlice = (body: string | Uint8Array, contentType?: string) => async (x: Ctx) =>
  await sendRaw(x.a.url, 'POST', entries(x.alice), { token: x.alice.token, body, ...(contentType === undefined ? {} : { contentType }) })
const postExam = (body: unknown, to?: (x: Ctx) => string) => async (x: Ctx) => await call(x.a.url, 'POST', to?.(x) ?? entries(x.alice), { token: x.staff, body })

const MALFORMED_INPUT: readonly Case[] = [
  ['malformed JSON', rawAsAlice('{"entry": "00", "seq": '), { status: 400, code: 'MALFORMED_JSON' }],
  ['an empty JSON body', rawAsAlice(''), { status: 400, code: 'MALFORMED_JSON' }],
  ['a body that is not JSON (text/plain)', rawAsAlice('entry=00', 'text/plain'), { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }],
  ['seq as a string', async (x) => await postAsAlice({ ...(await aliceExercise(x)).body, seq: '3' })(x), { status: 400, code: 'BAD_REQUEST' }],
  ['seq 0 (the genesis position)', async (x) => await postAsAlice({ ...(await aliceExercise(x)).body, seq: 0 })(x), { status: 400, code: 'BAD_REQUEST' }],
  ['entry not hex', postAsAlice({ entry: 'not hex', seq: 2 }), { status: 400, code: 'BAD_REQUEST' }],
  ['an unknown field beside entry and seq', async (x) => await postAsAlice({ ...(await aliceExercise(x)).body, note: 'x' })(x), { status: 400, code: 'BAD_REQUEST' }],
  ['entry bytes that are not an entry', postAsAlice({ entry: 'a16161', seq: 2 }), { status: 422, code: 'MALFORMED' }],
  ['an exam without plain', postExam({ type: 'exam', sealed: EXAM.sealed }), { status: 400, code: 'BAD_REQUEST' }],
  ['an exam with a wrongly typed observation', postExam({ ...EXAM, plain: { observations: [{ code: '8480-6', value: [128] }] } }), { status: 400, code: 'BAD_REQUEST' }],
  ['an exam of another type', postExam({ ...EXAM, type: 'exercise' }), { status: 400, code: 'BAD_REQUEST' }],
  // Units are checked against the UCUM table, not only for their shape.
  ['an exam with a plain unit that is not UCUM', postExam({ ...EXAM, plain: { observations: [{ code: '8867-4', value: 72, unit: 'bpm' }] } }), { status: 400, code: 'BAD_REQUEST' }],
  ['an exam with a sealed unit that is not UCUM', postExam({ ...EXAM, sealed: { observations: [{ code: '2345-7', value: 5.4, unit: '}{' }] } }), { status: 400, code: 'BAD_REQUEST' }],
  // A lone surrogate has no UTF-8 form: stored, it would have become U+FFFD — not what was sent.
  ['an exam whose text holds a lone surrogate', postExam({ ...EXAM, plain: { title: 'BP \ud800', observations: [{ code: '8480-6', value: 'a\udc00' }] } }), { status: 400, code: 'BAD_REQUEST' }],
  ['a body over api.bodyLimit', async (x) => await sendRaw(x.a.url, 'POST', entries(x.alice), {
    token: x.alice.token, body: JSON.stringify({ entry: 'ab'.repeat(x.a.daemon.config.api.bodyLimit / 2 + 1024), seq: 2 })
  }), { status: 413, code: 'PAYLOAD_TOO_LARGE' }],
  ['a malformed user id in the path', async (x) => await call(x.a.url, 'GET', '/v1/users/NOT-A-USER/entries', { token: x.staff }), { status: 400, code: 'BAD_REQUEST' }],
  ['an unknown query parameter', async (x) => await call(x.a.url, 'GET', `${entries(x.alice)}?colour=red`, { token: x.staff }), { status: 400, code: 'BAD_REQUEST' }],
  ['an empty start position in the query', async (x) => await call(x.a.url, 'GET', `${entries(x.alice)}?start=`, { token: x.staff }), { status: 400, code: 'BAD_REQUEST' }],
  ['a hexadecimal end position in the query', async (x) => await call(x.a.url, 'GET', `${entries(x.alice)}?end=0x10`, { token: x.staff }), { status: 400, code: 'BAD_REQUEST' }],
  ['an unknown entry type in the query', async (x) => await call(x.a.url, 'GET', `${entries(x.alice)}?type=diary`, { token: x.staff }), { status: 400, code: 'BAD_REQUEST' }]
]

const UNKNOWN: readonly Case[] = [
  ['an unknown user: summary', async (x) => await call(x.a.url, 'GET', `/v1/users/${x.stranger}`, { token: x.staff }), { status: 404, code: 'UNKNOWN_CHAIN' }],
  ['an unknown user: entries', async (x) => await call(x.a.url, 'GET', entries(x.stranger), { token: x.staff }), { status: 404, code: 'UNKNOWN_CHAIN' }],
  ['an unknown user: verify', async (x) => await call(x.a.url, 'GET', `/v1/users/${x.stranger}/verify`, { token: x.staff }), { status: 404, code: 'UNKNOWN_CHAIN' }],
  ['an unknown user: exam write', postExam(EXAM, (x) => entries(x.stranger)), { status: 404, code: 'UNKNOWN_CHAIN' }],
  ['an unknown route', async (x) => await call(x.a.url, 'GET', '/v1/people', { token: x.staff }), { status: 404, code: 'NOT_FOUND', audited: false }],
  ['an unknown method on a known path', async (x) => await call(x.a.url, 'DELETE', entries(x.alice), { token: x.staff }), { status: 404, code: 'NOT_FOUND', audited: false }]
]

const FORGED_OR_MISPLACED: readonly Case[] = [
  ['a flipped signature byte', async (x) => {
    const entry = (await aliceExercise(x)).entry
    const sig = entry.sig.slice()
    sig[10]! ^= 0x01
    return await postAsAlice(userWriteBody({ ...entry, sig }, await chainLength(x.a, x.alice.user.userId)))(x)
  }, { status: 422, code: 'BAD_SIGNATURE' }],
  ['an entry signed with another user\'s key', async (x) => {
    const seq = await chainLength(x.a, x.alice.user.userId)
    const entry = signEntry(buildUserEntry('exercise', exercisePlain(), {}, crypto), { chainKey: x.alice.chainKey, seq }, x.bob.user.sign.secretKey, crypto)
    return await postAsAlice(userWriteBody(entry, seq))(x)
  }, { status: 422, code: 'BAD_SIGNATURE' }],
  ['an entry signed for the position after next', async (x) => await postAsAlice((await aliceExercise(x, { signedFor: (n) => n + 1 })).body)(x), { status: 409, code: 'STALE_POSITION' }],
  ['an entry signed for a position already taken', async (x) => await postAsAlice((await aliceExercise(x, { signedFor: (n) => n - 1 })).body)(x), { status: 409, code: 'STALE_POSITION' }],
  ['an entry signed for one position, claimed for the next', async (x) => await postAsAlice((await aliceExercise(x, { signedFor: (n) => n + 1, claimed: (n) => n })).body)(x), { status: 422, code: 'BAD_SIGNATURE' }],
  ['alice\'s entry replayed into bob\'s chain by bob', async (x) => {
    const seq = await chainLength(x.a, x.bob.user.userId)
    const entry = signAsUser(x.alice, buildUserEntry('exercise', exercisePlain(), {}, crypto), seq)
    return await call(x.a.url, 'POST', entries(x.bob), { token: x.bob.token, body: userWriteBody(entry, seq) })
  }, { status: 422, code: 'BAD_SIGNATURE' }],
  ['an exam authored by hospital-a but signed by the user', async (x) => {
    const seq = await chainLength(x.a, x.alice.user.userId)
    const unsigned = buildExam({
      author: x.a.id,
      reg: x.a.daemon.ledger.registry.length,
      chainKey: x.alice.chainKey,
      plain: EXAM.plain,
      sealed: EXAM.sealed,
      recipients: [x.alice.user.box.publicKey]
    }, crypto)
    return await postAsAlice(userWriteBody(signAsUser(x.alice, unsigned, seq), seq))(x)
  }, { status: 403, code: 'FORBIDDEN' }],
  ['a genesis for a user enrolled already', async (x) => {
    const genesis = signAsUser(x.alice, buildGenesis(x.alice.user, x.a.id, {}, crypto), 0)
    return await call(x.a.url, 'POST', '/v1/users', { token: x.staff, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  }, { status: 409, code: 'ALREADY_ENROLLED' }],
  ['a genesis signed for another chain key', async (x) => {
    const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const genesis = signEntry(buildGenesis(user, x.a.id, {}, crypto), { chainKey: crypto.randomBytes(32), seq: 0 }, user.sign.secretKey, crypto)
    return await call(x.a.url, 'POST', '/v1/users', { token: x.staff, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  }, { status: 422, code: 'BAD_GENESIS' }]
]

const WRONG_CALLER: readonly Case[] = [
  ['an exam body sent by a user', postAsAlice(EXAM), { status: 403, code: 'FORBIDDEN' }],
  ['a user writing to another user\'s chain', async (x) => {
    const seq = await chainLength(x.a, x.bob.user.userId)
    const entry = signAsUser(x.bob, buildUserEntry('exercise', exercisePlain(), {}, crypto), seq)
    return await call(x.a.url, 'POST', entries(x.bob), { token: x.alice.token, body: userWriteBody(entry, seq) })
  }, { status: 403, code: 'FORBIDDEN' }],
  ['an examiner posting { entry, seq }', async (x) => await postExam((await aliceExercise(x)).body)(x), { status: 403, code: 'FORBIDDEN' }],
  ['an examiner enrolling with a user\'s token', async (x) => {
    const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    const genesis = signEntry(
      buildGenesis(user, x.a.id, {}, crypto), { chainKey: await x.a.daemon.ledger.chainKeyFor(user.userId), seq: 0 }, user.sign.secretKey, crypto
    )
    return await call(x.a.url, 'POST', '/v1/users', { token: x.alice.token, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  }, { status: 403, code: 'FORBIDDEN' }],
  ['no token', async (x) => await call(x.a.url, 'POST', entries(x.alice), { body: EXAM }), { status: 401, code: 'MISSING_TOKEN' }],
  ['a malformed token', async (x) => await call(x.a.url, 'POST', entries(x.alice), { token: 'not-a-token', body: EXAM }), { status: 401, code: 'MALFORMED_TOKEN' }],
  ['a token this node never issued', async (x) => await call(x.a.url, 'POST', entries(x.alice), { token: `hct_${'A'.repeat(43)}`, body: EXAM }), { status: 401, code: 'UNKNOWN_TOKEN' }]
]

describe('chain routes refuse bad input: 4xx, a stable code, nothing written, a refused audit line', () => {
  describe.each([
    ['malformed input', MALFORMED_INPUT],
    ['unknown users and routes', UNKNOWN],
    ['forged or misplaced entries', FORGED_OR_MISPLACED],
    ['the wrong caller', WRONG_CALLER]
  ] as const)('%s', (_group, cases) => {
    it.each(cases.map(([name, request, refusal]) => [name, request, refusal] as const))('%s', async (_name, request, refusal) => {
      await expectRefused(request, refusal)
    })
  })
})

describe('retries and credentials', () => {
  it('positions in the query are read as digits: ?start=0&end=1 is the genesis alone', async () => {
    const x = c()
    const reply = await call(x.a.url, 'GET', `${entries(x.alice)}?start=0&end=1`, { token: x.staff })
    expect(reply.status).toBe(200)
    expect(reply.body.entries.map((e: { seq: number, type: string }) => [e.seq, e.type])).toEqual([[0, 'genesis']])
  })

  it('?type=genesis gives the genesis (reads otherwise start after it)', async () => {
    const x = c()
    const reply = await call(x.a.url, 'GET', `${entries(x.alice)}?type=genesis`, { token: x.staff })
    expect(reply.status).toBe(200)
    expect(reply.body.entries.map((e: { seq: number, type: string }) => [e.seq, e.type])).toEqual([[0, 'genesis']])
    const all = await call(x.a.url, 'GET', entries(x.alice), { token: x.staff })
    expect(all.body.entries.some((e: { type: string }) => e.type === 'genesis')).toBe(false)
  })

  it('a replayed entry is answered as a duplicate with the same position, and written once', async () => {
    const x = c()
    const { entry, body } = await aliceExercise(x)
    const first = await postAsAlice(body)(x)
    expect(first.status).toBe(201)
    expect(first.body).toEqual({ seq: body.seq, id: bytesToHex(entry.id), duplicate: false })
    const lengthAfterFirst = await chainLength(x.a, x.alice.user.userId)
    expect(lengthAfterFirst).toBe(body.seq + 1)

    const again = await postAsAlice(body)(x)
    expect(again.status).toBe(201)
    expect(again.body).toEqual({ seq: body.seq, id: bytesToHex(entry.id), duplicate: true })

    // Still a duplicate once the chain has moved on past the position it was signed for.
    expect((await postAsAlice((await aliceExercise(x)).body)(x)).status).toBe(201)
    const late = await postAsAlice(body)(x)
    expect(late.body).toEqual({ seq: body.seq, id: bytesToHex(entry.id), duplicate: true })
    expect(await chainLength(x.a, x.alice.user.userId)).toBe(lengthAfterFirst + 1)
  })

  it('a retry with the same id but other content is refused (409 DUPLICATE_ENTRY)', async () => {
    const x = c()
    const { entry, body } = await aliceExercise(x)
    expect((await postAsAlice(body)(x)).status).toBe(201)
    await expectRefused(async (x) => {
      const seq = await chainLength(x.a, x.alice.user.userId)
      const forged = signAsUser(x.alice, buildUserEntry('location', { points: [{ lat: 1, lon: 2, acc: 3, time: Date.now() }] }, { id: entry.id }, crypto), seq)
      return await postAsAlice(userWriteBody(forged, seq))(x)
    }, { status: 409, code: 'DUPLICATE_ENTRY' })
  })

  it('a staff token whose API key was revoked is refused (401 REVOKED_KEY), then unknown', async () => {
    const x = c()
    const { apiKey, record } = await x.a.daemon.apiKeys.create('temporary staff', 'examiner')
    const login = await call(x.a.url, 'POST', '/v1/session', { body: { apiKey } })
    expect(login.status).toBe(200)
    expect((await call(x.a.url, 'GET', entries(x.alice), { token: login.body.token })).status).toBe(200)

    await x.a.daemon.apiKeys.revoke(record.id)
    const examWithOldToken = async (x: Ctx): Promise<Reply> => await call(x.a.url, 'POST', entries(x.alice), { token: login.body.token, body: EXAM })
    await expectRefused(examWithOldToken, { status: 401, code: 'REVOKED_KEY' })
    // The revocation ended the key's sessions: the token is no longer known at all.
    await expectRefused(examWithOldToken, { status: 401, code: 'UNKNOWN_TOKEN' })
    const relogin = await call(x.a.url, 'POST', '/v1/session', { body: { apiKey } })
    expect(relogin).toMatchObject({ status: 401, body: { error: { code: 'REVOKED_KEY' } } })
  })

  // Last: by now most of the token's 10 s have passed while the other cases ran.
  it('an expired token is refused (401 EXPIRED_TOKEN) and writes nothing', async () => {
    const { daemon, token, expiresAt, user } = c().expiring
    const wait = expiresAt - Date.now() + 50
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const lengthBefore = (await daemon.ledger.chain(user)).length
    const auditFrom = daemon.audit.length
    const reply = await call(daemon.apiUrl, 'POST', entries(user), { token, body: EXAM })
    expect(reply).toMatchObject({ status: 401, body: { error: { code: 'EXPIRED_TOKEN', message: expect.any(String) } } })
    expect((await daemon.ledger.chain(user)).length).toBe(lengthBefore)
    expect((await daemon.audit.read(auditFrom)).map((l) => l.line)).toMatchObject([{ result: 'refused', code: 'EXPIRED_TOKEN' }])
  }, 30_000)
})
