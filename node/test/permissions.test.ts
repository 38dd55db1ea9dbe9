/**
 * The permission table of the roles, cell by cell, over real HTTP against
 * real daemons (one consortium for the file): hospital-a and hospital-b
 * (examiners), agency (inquirer), regulator. Callers log in as they would:
 * staff with their node's API key at their own node, the user by signing a
 * challenge at hospital-a, which holds their chain.
 *
 * Every cell is one row of CELLS — `role × operation × allowed|refused` —
 * and one request. Each row checks the status (and the stable code of a
 * refusal), exactly one audit line at the node asked (`granted`, or
 * `refused` with that code), and what the chains hold afterwards: a refusal
 * leaves every chain's length and every node's chain count as they were; an
 * allowed write adds one entry. "Refused" for a sealed read is an answer
 * without the sealed data (200): `{ readable: false }` for an examiner that
 * is not a recipient, the envelope only for the user, no `sealed` key at
 * all for the inquirer and the regulator.
 *
 * The chains (all held by hospital-a, replicated to every node before the
 * cells run):
 *   alice  1: exam by hospital-a, sealed for alice and hospital-a   2: her exercise
 *   bob    genesis only (the "other" user)
 *   carol  1: exam by hospital-a; in one cell she grants hospital-b with that exam's key re-wrapped
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildErasure, buildGenesis, buildGrant, buildUserEntry, bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, userKeysFromPhrase,
  type Role, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import type { AuditAction } from '../src/index.js'
import { call, enrolOverHttp, startConsortium, staffToken, userToken, waitUntil, type Reply, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { crypto } from './helpers/fixtures.js'
import {
  auditSince, chainLength, exercisePlain, hasKeyAnywhere, locationPlain, nextExercise, signAsUser, userWriteBody, type TestChain
} from './helpers/user-writes.js'

const EXAM = {
  type: 'exam',
  plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]' }] },
  sealed: { notes: 'follow up in 6 months' }
} as const

// ---------------------------------------------------------------- the world the cells run in

interface Person extends TestChain {
  /** The user's token at hospital-a. */
  readonly token: string
}

interface World {
  readonly net: TestConsortium
  readonly a: TestNode
  readonly b: TestNode
  readonly agency: TestNode
  readonly regulator: TestNode
  readonly staff: ReadonlyMap<TestNode, string>
  readonly alice: Person & { readonly examSeq: number, readonly exerciseSeq: number }
  readonly bob: Person
  readonly carol: Person & { readonly examSeq: number }
}

let world: World | undefined

function theWorld (): World {
  if (world === undefined) throw new Error('the consortium did not start')
  return world
}

async function enrolPerson (a: TestNode, staff: string): Promise<Person> {
  const { user, chainKey } = await enrolOverHttp(a, staff)
  return { user, chainKey: fromHex(chainKey, 32, 'chainKey'), token: await userToken(a, user) }
}

async function post (node: TestNode, token: string, path: string, body: unknown): Promise<Reply> {
  const reply = await call(node.url, 'POST', path, { token, body })
  if (reply.status !== 201) throw new Error(`POST ${path} failed in setup: ${JSON.stringify(reply.body)}`)
  return reply
}

/** Waits until every node other than hospital-a has verified each chain to hospital-a's length. */
async function replicated (world: Pick<World, 'a' | 'b' | 'agency' | 'regulator'>, users: readonly UserId[]): Promise<void> {
  for (const user of users) {
    const length = await chainLength(world.a, user)
    for (const node of [world.b, world.agency, world.regulator]) {
      await waitUntil(async () => node.daemon.ledger.hasChain(user) && (await node.daemon.ledger.chain(user)).verifiedLength >= length, `${node.id} to replicate ${user}`)
    }
  }
}

async function startWorld (): Promise<World> {
  const net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer'], ['regulator', 'regulator']])
  try {
    const [a, b, agency, regulator] = ['hospital-a', 'hospital-b', 'agency', 'regulator'].map((id) => net.node(id)) as [TestNode, TestNode, TestNode, TestNode]
    const staff = new Map<TestNode, string>()
    for (const node of [a, b, agency, regulator]) staff.set(node, await staffToken(node))
    const staffA = staff.get(a)!

    const alice = await enrolPerson(a, staffA)
    const aliceExam = await post(a, staffA, `/v1/users/${alice.user.userId}/entries`, EXAM)
    const aliceExercise = await post(a, alice.token, `/v1/users/${alice.user.userId}/entries`, (await nextExercise(a, alice)).body)
    const bob = await enrolPerson(a, staffA)
    const carol = await enrolPerson(a, staffA)
    const carolExam = await post(a, staffA, `/v1/users/${carol.user.userId}/entries`, EXAM)
    const parts = { a, b, agency, regulator }
    await replicated(parts, [alice.user.userId, bob.user.userId, carol.user.userId])
    return {
      net,
      ...parts,
      staff,
      alice: { ...alice, examSeq: aliceExam.body.seq, exerciseSeq: aliceExercise.body.seq },
      bob,
      carol: { ...carol, examSeq: carolExam.body.seq }
    }
  } catch (err) {
    await net.close()
    throw err
  }
}

// ---------------------------------------------------------------- callers

/** Who sends a cell's request: a role, at a node, with a token. */
interface Caller {
  readonly role: Role
  readonly node: TestNode
  readonly token: string
}

const CALLERS = {
  user: (w: World): Caller => ({ role: 'user', node: w.a, token: w.alice.token }),
  examiner: (w: World): Caller => ({ role: 'examiner', node: w.a, token: w.staff.get(w.a)! }),
  'examiner at hospital-b': (w: World): Caller => ({ role: 'examiner', node: w.b, token: w.staff.get(w.b)! }),
  inquirer: (w: World): Caller => ({ role: 'inquirer', node: w.agency, token: w.staff.get(w.agency)! }),
  regulator: (w: World): Caller => ({ role: 'regulator', node: w.regulator, token: w.staff.get(w.regulator)! })
} as const
type CallerName = keyof typeof CALLERS

// ---------------------------------------------------------------- operations

/** What a request did: the answer, and the chain it was about (for the "nothing written" checks). */
interface Acted {
  readonly reply: Reply
  readonly subject: UserId
}

type Operation = (w: World, caller: Caller) => Promise<Acted>

function freshUser (): UserKeys {
  return userKeysFromPhrase(newRecoveryPhrase(), crypto)
}

/** POST /v1/users with a genesis a new user signed for the caller's node. */
const enrol: Operation = async (_w, caller) => {
  const user = freshUser()
  const chainKey = await caller.node.daemon.ledger.chainKeyFor(user.userId)
  const genesis = signAsUser({ user, chainKey }, buildGenesis(user, caller.node.id, {}, crypto), 0)
  const reply = await call(caller.node.url, 'POST', '/v1/users', { token: caller.token, body: { genesis: bytesToHex(encodeEntry(genesis)) } })
  return { reply, subject: user.userId }
}

const chainKeyOp: Operation = async (_w, caller) => {
  const user = freshUser().userId
  return { reply: await call(caller.node.url, 'GET', `/v1/users/${user}/chain-key`, { token: caller.token }), subject: user }
}

const writeExam = (whose: (w: World) => Person): Operation => async (w, caller) => {
  const user = whose(w).user.userId
  return { reply: await call(caller.node.url, 'POST', `/v1/users/${user}/entries`, { token: caller.token, body: EXAM }), subject: user }
}

/** POST { entry, seq } with an entry alice signed for her chain's next position, to her chain (or to the chain of `to`). */
const writeAsAlice = (build: (w: World, seq: number) => UnsignedEntry, to?: (w: World) => Person): Operation => async (w, caller) => {
  const seq = await chainLength(w.a, w.alice.user.userId)
  const entry = signAsUser(w.alice, build(w, seq), seq)
  const user = (to ?? ((w) => w.alice))(w).user.userId
  return { reply: await call(caller.node.url, 'POST', `/v1/users/${user}/entries`, { token: caller.token, body: userWriteBody(entry, seq) }), subject: user }
}

const exercise = writeAsAlice(() => buildUserEntry('exercise', exercisePlain(), {}, crypto))
const location = writeAsAlice(() => buildUserEntry('location', locationPlain(), {}, crypto))
const consent = writeAsAlice((w) => buildGrant({
  examiner: w.b.id, examinerBox: w.b.daemon.keys.box.publicKey, chainKey: w.alice.chainKey, userBox: w.alice.user.box
}, crypto))
const erasure = writeAsAlice((w) => buildErasure([w.alice.exerciseSeq], {}, crypto))
const genesisAgain = writeAsAlice((w) => buildGenesis(w.alice.user, w.a.id, {}, crypto))
const grantToRegulator = writeAsAlice((w) => buildGrant({
  examiner: w.regulator.id, examinerBox: w.regulator.daemon.keys.box.publicKey, chainKey: w.alice.chainKey, userBox: w.alice.user.box
}, crypto))
const eraseUnwritten = writeAsAlice((_w, seq) => buildErasure([seq + 5], {}, crypto))
const exerciseToBob = writeAsAlice(() => buildUserEntry('exercise', exercisePlain(), {}, crypto), (w) => w.bob)

const read = (suffix: '' | '/entries' | '/verify', whose: (w: World) => Person): Operation => async (w, caller) => {
  const user = whose(w).user.userId
  return { reply: await call(caller.node.url, 'GET', `/v1/users/${user}${suffix}`, { token: caller.token }), subject: user }
}

const alice = (w: World): Person => w.alice
const bob = (w: World): Person => w.bob
const carol = (w: World): Person => w.carol

// ---------------------------------------------------------------- what each cell expects

interface Expectation {
  readonly status: number
  /** The stable code of a 4xx refusal. */
  readonly code?: string
  /** An allowed write: the subject's chain grows by exactly one entry. */
  readonly grows?: boolean
  /** Further checks of the answer. */
  readonly check?: (acted: Acted, w: World) => void | Promise<void>
}

interface Cell {
  readonly name: string
  readonly caller: CallerName
  readonly action: AuditAction
  readonly op: Operation
  readonly expect: Expectation
  /** Steps before the cell's request (their own requests are not the cell's). */
  readonly prepare?: (w: World) => Promise<void>
}

function cell (caller: CallerName, operation: string, outcome: 'allowed' | 'refused', action: AuditAction, op: Operation, expect: Expectation, prepare?: Cell['prepare']): Cell {
  return { name: `${caller} × ${operation} × ${outcome}`, caller, action, op, expect, ...(prepare === undefined ? {} : { prepare }) }
}

const FORBIDDEN: Expectation = { status: 403, code: 'FORBIDDEN' }

/** A refused enrolment: the user has no chain anywhere. */
const NOT_ENROLLED: Expectation = {
  ...FORBIDDEN,
  check: ({ subject }, w) => {
    for (const node of [w.a, w.b, w.agency, w.regulator]) expect(node.daemon.ledger.hasChain(subject), node.id).toBe(false)
  }
}

/** The entry with this position in a GET …/entries answer. */
function entryAt (acted: Acted, seq: number): any {
  const entry = acted.reply.body.entries.find((e: { seq: number }) => e.seq === seq)
  expect(entry, `entry ${seq} in the answer`).toBeDefined()
  return entry
}

const enrolled: Expectation = {
  status: 201,
  async check ({ reply, subject }, w) {
    expect(reply.body).toMatchObject({ userId: subject, custodian: w.a.id, length: 1 })
    // Let the new chain reach every node now, so later cells see stable chain counts.
    await replicated(w, [subject])
  }
}

const readSealedAsRecipient: Expectation = {
  status: 200,
  check: (acted, w) => { expect(entryAt(acted, w.alice.examSeq).sealed).toEqual({ readable: true, data: EXAM.sealed }) }
}

const readSealedNotRecipient: Expectation = {
  status: 200,
  check: (acted, w) => {
    const exam = entryAt(acted, w.alice.examSeq)
    expect(exam.plain).toEqual(EXAM.plain)
    expect(exam.sealed).toEqual({ readable: false })
  }
}

const readSealedEnvelopeOnly: Expectation = {
  status: 200,
  check: (acted, w) => {
    const sealed = entryAt(acted, w.alice.examSeq).sealed
    expect(Object.keys(sealed).sort()).toEqual(['envelope', 'readable'])
    expect(sealed.readable).toBe(false)
    expect(sealed.envelope).toMatch(/^[0-9a-f]+$/)
  }
}

const readNoSealedAtAll: Expectation = {
  status: 200,
  check: (acted, w) => {
    expect(entryAt(acted, w.alice.examSeq)).toMatchObject({ type: 'exam', plain: EXAM.plain })
    expect(hasKeyAnywhere(acted.reply.body, 'sealed')).toBe(false)
  }
}

/** Carol grants hospital-b, re-wrapping her exam's data key, and hospital-b receives the grant. */
async function carolGrantsHospitalB (w: World): Promise<void> {
  const before = await call(w.b.url, 'GET', `/v1/users/${w.carol.user.userId}/entries`, { token: w.staff.get(w.b)! })
  expect(entryAt({ reply: before, subject: w.carol.user.userId }, w.carol.examSeq).sealed).toEqual({ readable: false })
  const history = await (await w.a.daemon.ledger.chain(w.carol.user.userId)).read({ types: ['exam'] })
  const seq = await chainLength(w.a, w.carol.user.userId)
  const grant = signAsUser(w.carol, buildGrant({
    examiner: w.b.id, examinerBox: w.b.daemon.keys.box.publicKey, history, chainKey: w.carol.chainKey, userBox: w.carol.user.box
  }, crypto), seq)
  await post(w.a, w.carol.token, `/v1/users/${w.carol.user.userId}/entries`, userWriteBody(grant, seq))
  await replicated(w, [w.carol.user.userId])
}

const readSealedAfterGrant: Expectation = {
  status: 200,
  check: (acted, w) => { expect(entryAt(acted, w.carol.examSeq).sealed).toEqual({ readable: true, data: EXAM.sealed }) }
}

const written: Expectation = { status: 201, grows: true, check: ({ reply }) => { expect(reply.body).toMatchObject({ duplicate: false, id: expect.stringMatching(/^[0-9a-f]{32}$/) }) } }
const ok: Expectation = { status: 200 }

// ---------------------------------------------------------------- the table

const CELLS: readonly Cell[] = [
  // enrol (POST /v1/users): examiners only
  cell('user', 'enrol', 'refused', 'enrol', enrol, NOT_ENROLLED),
  cell('examiner', 'enrol', 'allowed', 'enrol', enrol, enrolled),
  cell('inquirer', 'enrol', 'refused', 'enrol', enrol, NOT_ENROLLED),
  cell('regulator', 'enrol', 'refused', 'enrol', enrol, NOT_ENROLLED),

  // chain-key (GET /v1/users/{id}/chain-key): examiners only, the step before enrolling
  cell('user', 'chain-key', 'refused', 'read', chainKeyOp, FORBIDDEN),
  cell('examiner', 'chain-key', 'allowed', 'read', chainKeyOp, {
    status: 200,
    check: async ({ reply, subject }, w) => { expect(reply.body.chainKey).toBe(bytesToHex(await w.a.daemon.ledger.chainKeyFor(subject))) }
  }),
  cell('inquirer', 'chain-key', 'refused', 'read', chainKeyOp, FORBIDDEN),
  cell('regulator', 'chain-key', 'refused', 'read', chainKeyOp, FORBIDDEN),

  // write exam (the examiner's body: the node signs and seals)
  cell('user', 'write exam', 'refused', 'write', writeExam(alice), FORBIDDEN),
  cell('examiner', 'write exam', 'allowed', 'write', writeExam(alice), written),
  cell('examiner at hospital-b', 'write exam (forwarded to the custodian)', 'allowed', 'write', writeExam(alice), written),
  cell('inquirer', 'write exam', 'refused', 'write', writeExam(alice), FORBIDDEN),
  cell('regulator', 'write exam', 'refused', 'write', writeExam(alice), FORBIDDEN),

  // user-signed entries ({ entry, seq }): the user, on their own chain
  cell('user', 'write exercise', 'allowed', 'write', exercise, written),
  cell('examiner', 'write exercise', 'refused', 'write', exercise, FORBIDDEN),
  cell('inquirer', 'write exercise', 'refused', 'write', exercise, FORBIDDEN),
  cell('regulator', 'write exercise', 'refused', 'write', exercise, FORBIDDEN),
  cell('user', 'write location', 'allowed', 'write', location, written),
  cell('examiner', 'write location', 'refused', 'write', location, FORBIDDEN),
  cell('inquirer', 'write location', 'refused', 'write', location, FORBIDDEN),
  cell('regulator', 'write location', 'refused', 'write', location, FORBIDDEN),
  cell('user', 'write consent', 'allowed', 'write', consent, written),
  cell('examiner', 'write consent', 'refused', 'write', consent, FORBIDDEN),
  cell('inquirer', 'write consent', 'refused', 'write', consent, FORBIDDEN),
  cell('regulator', 'write consent', 'refused', 'write', consent, FORBIDDEN),
  cell('user', 'write erasure', 'allowed', 'write', erasure, written),
  cell('examiner', 'write erasure', 'refused', 'write', erasure, FORBIDDEN),
  cell('inquirer', 'write erasure', 'refused', 'write', erasure, FORBIDDEN),
  cell('regulator', 'write erasure', 'refused', 'write', erasure, FORBIDDEN),
  // … and what the role allows but the chain's rules do not
  cell('user', 'write to another user\'s chain', 'refused', 'write', exerciseToBob, FORBIDDEN),
  cell('user', 'write a second genesis', 'refused', 'write', genesisAgain, { status: 422, code: 'BAD_GENESIS' }),
  cell('user', 'write consent granting a regulator', 'refused', 'write', grantToRegulator, { status: 403, code: 'ROLE_FORBIDDEN' }),
  cell('user', 'write erasure of an unwritten position', 'refused', 'write', eraseUnwritten, { status: 422, code: 'BAD_ERASURE' }),

  // read a chain: the user their own only; every institution any chain it holds
  cell('user', 'read own chain summary', 'allowed', 'read', read('', alice), ok),
  cell('user', 'read own entries', 'allowed', 'read', read('/entries', alice), ok),
  cell('user', 'read own verify', 'allowed', 'read', read('/verify', alice), { status: 200, check: ({ reply }) => { expect(reply.body.valid).toBe(true) } }),
  cell('user', 'read other chain summary', 'refused', 'read', read('', bob), FORBIDDEN),
  cell('user', 'read other entries', 'refused', 'read', read('/entries', bob), FORBIDDEN),
  cell('user', 'read other verify', 'refused', 'read', read('/verify', bob), FORBIDDEN),
  cell('examiner', 'read chain summary', 'allowed', 'read', read('', bob), ok),
  cell('examiner', 'read entries', 'allowed', 'read', read('/entries', bob), ok),
  cell('examiner', 'read verify', 'allowed', 'read', read('/verify', bob), ok),
  cell('inquirer', 'read chain summary', 'allowed', 'read', read('', bob), ok),
  cell('inquirer', 'read entries', 'allowed', 'read', read('/entries', bob), ok),
  cell('inquirer', 'read verify', 'allowed', 'read', read('/verify', bob), ok),
  cell('regulator', 'read chain summary', 'allowed', 'read', read('', bob), ok),
  cell('regulator', 'read entries', 'allowed', 'read', read('/entries', bob), ok),
  cell('regulator', 'read verify', 'allowed', 'read', read('/verify', bob), ok),

  // read sealed: recipients only; the user gets the envelope; inquirers and regulators not even that
  cell('examiner', 'read sealed (a recipient)', 'allowed', 'read', read('/entries', alice), readSealedAsRecipient),
  cell('examiner at hospital-b', 'read sealed (not a recipient)', 'refused', 'read', read('/entries', alice), readSealedNotRecipient),
  cell('examiner at hospital-b', 'read sealed (granted, history re-wrapped)', 'allowed', 'read', read('/entries', carol), readSealedAfterGrant, carolGrantsHospitalB),
  cell('user', 'read sealed (envelope only)', 'allowed', 'read', read('/entries', alice), readSealedEnvelopeOnly),
  cell('inquirer', 'read sealed', 'refused', 'read', read('/entries', alice), readNoSealedAtAll),
  cell('regulator', 'read sealed', 'refused', 'read', read('/entries', alice), readNoSealedAtAll)
]

// ---------------------------------------------------------------- running a cell

/** Everything a write could change: each test chain's length at its custodian, and how many chains each node holds. */
async function snapshot (w: World): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const person of [w.alice, w.bob, w.carol]) out[`length ${person.user.userId}`] = await chainLength(w.a, person.user.userId)
  for (const node of [w.a, w.b, w.agency, w.regulator]) out[`chains at ${node.id}`] = node.daemon.ledger.chainCount
  return out
}

beforeAll(async () => { world = await startWorld() })
afterAll(async () => { await world?.net.close() })

describe('permissions: role × operation, against real daemons', () => {
  it.each(CELLS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const w = theWorld()
    await c.prepare?.(w)
    const caller = CALLERS[c.caller](w)
    const before = await snapshot(w)
    const auditFrom = caller.node.daemon.audit.length

    const acted = await c.op(w, caller)

    expect(acted.reply.status, JSON.stringify(acted.reply.body)).toBe(c.expect.status)
    const refused = c.expect.status >= 400
    const lines = await auditSince(caller.node, auditFrom)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      action: c.action, role: caller.role, target: `user:${acted.subject}`, result: refused ? 'refused' : 'granted'
    })
    if (refused) {
      expect(acted.reply.body).toMatchObject({ error: { code: c.expect.code, message: expect.any(String) } })
      expect(lines[0]!.code).toBe(c.expect.code)
      expect(await snapshot(w), 'a refusal writes nothing').toEqual(before)
    } else if (c.expect.grows === true) {
      const key = `length ${acted.subject}`
      expect(await snapshot(w)).toEqual({ ...before, [key]: before[key]! + 1 })
      expect(acted.reply.body.seq).toBe(before[key])
    }
    await c.expect.check?.(acted, w)
  })
})
