/**
 * The enrolment hand-over on real daemons: staff open a ticket, the patient's device (keys from a fresh phrase, made
 * with the portable noble provider as in a browser) fetches its chain key and enrols with the ticket's code and no
 * login, then logs in and reads its chain. Refusals: a role that may not open tickets, codes that open nothing (never
 * issued, used, expired, another node's) all answered alike, a genesis for another user than the ticket's, malformed
 * codes and bodies, and the bound on open tickets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, nobleProvider, userKeysFromPhrase, type UserKeys } from '@healthchain/core'
import { buildEnrolmentGenesis } from '@healthchain/client'
import { normaliseEnrolmentCode } from '../src/api/index.js'
import { apiKeyIdOf, newEnrolmentCode, TICKET_REFUSAL_FLOOR_MS, type AuditLine } from '../src/index.js'
import { call, staffToken, startConsortium, userToken, waitUntil, type Reply, type TestConsortium, type TestNode } from './helpers/daemons.js'

const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/

let net: TestConsortium
let a: TestNode
let b: TestNode
let tokenA: string

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['agency', 'inquirer']])
  a = net.node('hospital-a')
  b = net.node('hospital-b')
  tokenA = await staffToken(a)
}, 60_000)

afterAll(async () => { await net?.close() })

const newDevice = (): UserKeys => userKeysFromPhrase(newRecoveryPhrase(), nobleProvider)

async function openTicket (node: TestNode = a, token = tokenA): Promise<string> {
  const reply = await call(node.url, 'POST', '/v1/enrolments', { token })
  expect(reply.status, JSON.stringify(reply.body)).toBe(201)
  return reply.body.code as string
}

/** The genesis a device signs for the chain key it was given, hex-encoded for the body. */
function genesisHex (user: UserKeys, custodian: string, chainKey: string): string {
  return bytesToHex(encodeEntry(buildEnrolmentGenesis(user, custodian as TestNode['id'], fromHex(chainKey, 32, 'chainKey'), nobleProvider)))
}

function expectCode (reply: Reply, status: number, code: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status)
  expect(reply.body.error.code).toBe(code)
}

async function auditLines (node: TestNode): Promise<AuditLine[]> {
  return (await node.daemon.audit.read()).map((l) => l.line)
}

describe('the enrolment hand-over', () => {
  it('lets the patient\'s device enrol itself with the code alone, then log in and read its chain; staff see how it ended', async () => {
    const staffActor = `key:${apiKeyIdOf(a.apiKey)!}`
    const before = Date.now()
    const opened = await call(a.url, 'POST', '/v1/enrolments', { token: tokenA })
    expect(opened.status).toBe(201)
    expect(opened.body.code).toMatch(CODE)
    expect(opened.body.custodian).toBe('hospital-a')
    const expiresAt = Date.parse(opened.body.expiresAt)
    expect(expiresAt).toBeGreaterThanOrEqual(before + 15 * 60_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000)
    const code = opened.body.code as string
    expect(await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: tokenA })).toEqual({
      status: 200, body: { status: 'pending', expiresAt: opened.body.expiresAt }
    })

    // The device, as the patient types the code: lower case, no dashes.
    const user = newDevice()
    const typed = code.replace(/-/g, '').toLowerCase()
    const key = await call(a.url, 'POST', `/v1/enrolments/${typed}/chain-key`, { body: { userId: user.userId } })
    expect(key.status).toBe(200)
    const direct = await call(a.url, 'GET', `/v1/users/${user.userId}/chain-key`, { token: tokenA })
    expect(key.body).toEqual(direct.body)
    expect(key.body).toEqual({ userId: user.userId, chainKey: expect.stringMatching(/^[0-9a-f]{64}$/), custodian: 'hospital-a' })
    expect((await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: tokenA })).body).toEqual({
      status: 'pending', userId: user.userId, expiresAt: opened.body.expiresAt
    })

    const enrolled = await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(user, 'hospital-a', key.body.chainKey) } })
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201)
    expect(enrolled.body).toMatchObject({ userId: user.userId, chainKey: key.body.chainKey, custodian: 'hospital-a', length: 1, forked: false })
    expect((await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: tokenA })).body).toEqual({
      status: 'enrolled', userId: user.userId, expiresAt: opened.body.expiresAt
    })

    // The user now exists here: it logs in with its own keys and reads its own chain.
    const token = await userToken(a, user)
    const chain = await call(a.url, 'GET', `/v1/users/${user.userId}`, { token })
    expect(chain.status).toBe(200)
    expect(chain.body).toMatchObject({ userId: user.userId, custodian: 'hospital-a', length: 1 })
    const genesis = await call(a.url, 'GET', `/v1/users/${user.userId}/entries?type=genesis`, { token })
    expect(genesis.status).toBe(200)
    expect(genesis.body.entries.map((e: { seq: number, type: string }) => [e.seq, e.type])).toEqual([[0, 'genesis']])

    // The audit log: the ticket's creation, and the enrolment under the staff key that opened the ticket.
    const lines = await auditLines(a)
    expect(lines).toContainEqual(expect.objectContaining({ actor: staffActor, role: 'examiner', action: 'enrol', target: 'enrolment-ticket', result: 'granted' }))
    expect(lines).toContainEqual(expect.objectContaining({
      actor: staffActor, role: 'examiner', action: 'enrol', target: `user:${user.userId}`, result: 'granted'
    }))
    expect(JSON.stringify(lines)).not.toContain(code)
    expect(JSON.stringify(lines)).not.toContain(code.replace(/-/g, ''))

    // Used up: the same code opens nothing any more, for either step.
    expectCode(await call(a.url, 'POST', `/v1/enrolments/${code}/chain-key`, { body: { userId: user.userId } }), 404, 'UNKNOWN_TICKET')
    expectCode(await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(user, 'hospital-a', key.body.chainKey) } }), 404, 'UNKNOWN_TICKET')
  })

  it('answers every code that opens nothing alike, and no sooner than the floor: never issued, used, another node\'s', async () => {
    const user = newDevice()
    const other = await openTicket(b, await staffToken(b))
    const never = newEnrolmentCode(() => new Uint8Array(8).fill(7))
    const used = await openTicket()
    const usedBy = newDevice()
    const key = await call(a.url, 'POST', `/v1/enrolments/${used}/chain-key`, { body: { userId: usedBy.userId } })
    expect((await call(a.url, 'POST', `/v1/enrolments/${used}`, { body: { genesis: genesisHex(usedBy, 'hospital-a', key.body.chainKey) } })).status).toBe(201)
    for (const code of [never, used, other]) {
      for (const [path, body] of [[`/v1/enrolments/${code}/chain-key`, { userId: user.userId }], [`/v1/enrolments/${code}`, { genesis: '00' }]] as const) {
        const started = performance.now()
        const reply = await call(a.url, 'POST', path, { body })
        const took = performance.now() - started
        expect(reply).toEqual({
          status: 404,
          body: { error: { code: 'UNKNOWN_TICKET', message: 'no open enrolment ticket has this code: it may have expired or been used; ask the staff for a new one' } }
        })
        expect(took, path).toBeGreaterThanOrEqual(TICKET_REFUSAL_FLOOR_MS - 2)
      }
      // Staff of this node see how their own ticket ended; no other node's, nor one never issued.
      if (code !== used) expectCode(await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: tokenA }), 404, 'UNKNOWN_TICKET')
    }
    // A device refused for its code: the audit line names nobody (staff asking for a ticket's status are themselves).
    const refused = (await auditLines(a)).filter((l) => l.code === 'UNKNOWN_TICKET' && l.target !== 'enrolment-ticket')
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.map((l) => [l.actor, l.role, l.result])).toEqual(refused.map(() => ['anonymous', undefined, 'refused']))
  })

  it('refuses a genesis for another user than the ticket is bound to, and enrols neither until the right one comes', async () => {
    const code = await openTicket()
    const first = newDevice()
    const second = newDevice()
    const key = await call(a.url, 'POST', `/v1/enrolments/${code}/chain-key`, { body: { userId: first.userId } })
    expect(key.status).toBe(200)
    // Asking again for the same user is fine; for another, the ticket is taken.
    expect((await call(a.url, 'POST', `/v1/enrolments/${code}/chain-key`, { body: { userId: first.userId } })).body).toEqual(key.body)
    expectCode(await call(a.url, 'POST', `/v1/enrolments/${code}/chain-key`, { body: { userId: second.userId } }), 409, 'TICKET_TAKEN')
    const secondKey = (await call(a.url, 'GET', `/v1/users/${second.userId}/chain-key`, { token: tokenA })).body.chainKey as string
    expectCode(await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(second, 'hospital-a', secondKey) } }), 409, 'TICKET_TAKEN')
    expectCode(await call(a.url, 'GET', `/v1/users/${second.userId}`, { token: tokenA }), 404, 'UNKNOWN_CHAIN')

    // The chain service's own checks, with its own errors: a genesis naming another custodian.
    expectCode(await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(first, 'hospital-b', key.body.chainKey) } }), 422, 'BAD_GENESIS')
    // None of these used the ticket up.
    const enrolled = await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(first, 'hospital-a', key.body.chainKey) } })
    expect(enrolled.status).toBe(201)
    expect(enrolled.body.userId).toBe(first.userId)
  })

  it('refuses malformed codes and bodies, naming the field, without using the ticket up', async () => {
    const code = await openTicket()
    const user = newDevice()
    for (const bad of ['nope', 'ABCD-EFGH-JKMU', 'ABCD-EFGH-JKM', 'ABCD-EFGH-JKMNP']) {
      const reply = await call(a.url, 'POST', `/v1/enrolments/${bad}/chain-key`, { body: { userId: user.userId } })
      expectCode(reply, 400, 'BAD_REQUEST')
      expect(reply.body.error.field).toBe('params.code')
    }
    const bodies: Array<[string, unknown, string]> = [
      ['chain-key', {}, 'body.userId'],
      ['chain-key', { userId: 'not-a-user' }, 'body.userId'],
      ['chain-key', { userId: user.userId, extra: 1 }, 'body.extra'],
      ['', {}, 'body.genesis'],
      ['', { genesis: 'xyz' }, 'body.genesis']
    ]
    for (const [step, body, field] of bodies) {
      const reply = await call(a.url, 'POST', `/v1/enrolments/${code}${step === '' ? '' : '/' + step}`, { body })
      expectCode(reply, 400, 'BAD_REQUEST')
      expect(reply.body.error.field, JSON.stringify(body)).toBe(field)
    }
    // Hex that is no entry: the same answer POST /v1/users gives.
    const direct = await call(a.url, 'POST', '/v1/users', { token: tokenA, body: { genesis: 'deadbeef' } })
    const viaTicket = await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: 'deadbeef' } })
    expect(viaTicket.status).toBe(422)
    expect(viaTicket.body.error.code).toBe(direct.body.error.code)
    expect((await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: tokenA })).body.status).toBe('pending')
  })

  it('lets only examiners of this node open tickets and see them', async () => {
    const agency = net.node('agency')
    expectCode(await call(agency.url, 'POST', '/v1/enrolments', { token: await staffToken(agency) }), 403, 'FORBIDDEN')
    expectCode(await call(a.url, 'POST', '/v1/enrolments'), 401, 'MISSING_TOKEN')
    const user = newDevice()
    const code = await openTicket()
    const key = await call(a.url, 'POST', `/v1/enrolments/${code}/chain-key`, { body: { userId: user.userId } })
    await call(a.url, 'POST', `/v1/enrolments/${code}`, { body: { genesis: genesisHex(user, 'hospital-a', key.body.chainKey) } })
    // A user's token is no staff token.
    expectCode(await call(a.url, 'POST', '/v1/enrolments', { token: await userToken(a, user) }), 403, 'FORBIDDEN')
    expectCode(await call(a.url, 'GET', `/v1/enrolments/${code}`, { token: await userToken(a, user) }), 403, 'FORBIDDEN')
  })
})

describe('ticket lifetime and the bound on open tickets', () => {
  it('expires tickets (then refused like unknown ones) and opens no more than the bound', async () => {
    const short = await startConsortium([['hospital-a', 'examiner']], { config: { auth: { enrolmentTicketTtlSeconds: 1, maxOpenEnrolmentTickets: 2 } } })
    try {
      const node = short.node('hospital-a')
      const token = await staffToken(node)
      const first = await openTicket(node, token)
      await openTicket(node, token)
      expectCode(await call(node.url, 'POST', '/v1/enrolments', { token }), 429, 'TOO_MANY_TICKETS')
      await waitUntil(async () => (await call(node.url, 'GET', `/v1/enrolments/${first}`, { token })).body.status === 'expired', 'the ticket to expire')
      const user = newDevice()
      const reply = await call(node.url, 'POST', `/v1/enrolments/${first}/chain-key`, { body: { userId: user.userId } })
      expectCode(reply, 404, 'UNKNOWN_TICKET')
      expect(reply.body.error.message).toBe('no open enrolment ticket has this code: it may have expired or been used; ask the staff for a new one')
      // Expired tickets no longer count against the bound.
      expect(await openTicket(node, token)).toMatch(CODE)
    } finally {
      await short.close()
    }
  })
})

describe('enrolment codes', () => {
  it('are 60 random bits in Crockford base32, read back in any case, with or without dashes, O as 0 and I, L as 1', () => {
    expect(newEnrolmentCode(() => new Uint8Array(8))).toBe('0000-0000-0000')
    expect(newEnrolmentCode(() => new Uint8Array(8).fill(255))).toBe('ZZZZ-ZZZZ-ZZZZ')
    const drawn = new Set(Array.from({ length: 200 }, () => newEnrolmentCode((n) => nobleProvider.randomBytes(n))))
    expect(drawn.size).toBe(200)
    for (const code of drawn) expect(code).toMatch(CODE)
    expect(normaliseEnrolmentCode('7kq2m9xd4hna')).toBe('7KQ2-M9XD-4HNA')
    expect(normaliseEnrolmentCode(' 7kq2-m9xd-4hna ')).toBe('7KQ2-M9XD-4HNA')
    expect(normaliseEnrolmentCode('OIL2-M9XD-4HNA')).toBe('0112-M9XD-4HNA')
    expect(normaliseEnrolmentCode('7KQ2-M9XD-4HNU')).toBeUndefined()
    expect(normaliseEnrolmentCode('7KQ2-M9XD-4HN')).toBeUndefined()
  })
})
