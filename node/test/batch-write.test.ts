/**
 * Batch writes over real HTTP to a real daemon: POST /v1/entries/batch and
 * FHIR transaction Bundles at POST /v1/fhir. Each item is checked as the
 * single write route checks it and answered on its own; refused items
 * write nothing while the good ones are written; a resend with the same ids
 * is answered with the first positions, not written twice; whole-request
 * refusals (role, shape, too many items) write nothing at all; every item
 * gets its audit line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bundle, BundleEntry, Observation } from '@medplum/fhirtypes'
import { newRecoveryPhrase, userKeysFromPhrase, type UserId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { call, enrolOverHttp, staffToken, startConsortium, type TestConsortium, type TestNode } from './helpers/daemons.js'

const MAX_ITEMS = 8

let consortium: TestConsortium
let a: TestNode
let token: string
let users: UserId[]

const exam = (value: number): object => ({ title: 'bench', observations: [{ code: '8480-6', value, unit: 'mm[Hg]' }] })
const item = (user: string, value: number, extra: object = {}): object => ({ user, type: 'exam', plain: exam(value), sealed: { notes: 'fasting' }, ...extra })
const id = (n: number): string => n.toString(16).padStart(32, '0')

async function lengthOf (user: UserId): Promise<number> {
  return (await a.daemon.ledger.chain(user)).length
}

async function examValues (user: UserId): Promise<number[]> {
  const reply = await call(a.url, 'GET', `/v1/users/${user}/entries?type=exam`, { token })
  return reply.body.entries.map((e: { plain: { observations: Array<{ value: number }> } }) => e.plain.observations[0]!.value)
}

beforeAll(async () => {
  consortium = await startConsortium([['hospital-a', 'examiner'], ['agency-c', 'inquirer']], { config: { api: { batchMaxItems: MAX_ITEMS } } })
  a = consortium.node('hospital-a')
  token = await staffToken(a)
  users = []
  for (let i = 0; i < 3; i++) users.push((await enrolOverHttp(a, token)).user.userId)
}, 60_000)

afterAll(async () => { await consortium?.close() })

describe('POST /v1/entries/batch', () => {
  it('writes good items for many users and answers each bad one with its own typed error, nothing written for it', async () => {
    const [u0, u1, u2] = users as [UserId, UserId, UserId]
    const stranger = userKeysFromPhrase(newRecoveryPhrase(), crypto).userId
    const before = await Promise.all(users.map(lengthOf))
    const auditBefore = a.daemon.audit.length
    const reply = await call(a.url, 'POST', '/v1/entries/batch', {
      token,
      body: {
        items: [
          item(u0, 101),
          item(u1, 102),
          { user: u2, type: 'exam', sealed: {} }, // no plain part
          item(stranger, 103), // not enrolled anywhere
          { ...item(u2, 104), type: 'location' }, // a type only the user writes
          item(u2, 105, { plain: { observations: [{ code: '8867-4', value: 1, unit: 'bpm' }] } }), // shaped like UCUM, not in its table
          item(u2, 106)
        ]
      }
    })
    expect(reply.status).toBe(200)
    expect(reply.body.written).toBe(3)
    expect(reply.body.failed).toBe(4)
    const results = reply.body.items as Array<{ index: number, ok: boolean, seq?: number, error?: { code: string, field?: string } }>
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false, false, false, true])
    expect(results[2]!.error).toMatchObject({ code: 'BAD_REQUEST', field: 'body.items.2.plain' })
    expect(results[3]!.error!.code).toBe('UNKNOWN_CHAIN')
    expect(results[4]!.error).toMatchObject({ code: 'FORBIDDEN', field: 'body.items.4.type' })
    expect(results[5]!.error).toMatchObject({ code: 'BAD_REQUEST', field: 'body.items.5.plain.observations.0.unit' })
    // The good ones are on their chains at the positions answered; the refused ones left no trace.
    expect(await Promise.all(users.map(lengthOf))).toEqual([before[0]! + 1, before[1]! + 1, before[2]! + 1])
    expect(results[0]!.seq).toBe(before[0])
    expect(await examValues(u2)).toEqual([106])
    expect(a.daemon.ledger.hasChain(stranger)).toBe(false)

    // The request's own line, and one line per item with its user and result.
    const lines = (await a.daemon.audit.read(auditBefore)).map((l) => l.line)
    const items = lines.filter((l) => l.action === 'write' && l.target !== 'batch:7')
    expect(lines.filter((l) => l.target === 'batch:7').map((l) => l.result)).toEqual(['granted'])
    expect(items).toHaveLength(7)
    expect(items.every((l) => l.action === 'write' && l.role === 'examiner' && l.actor.startsWith('key:'))).toBe(true)
    expect(items.filter((l) => l.result === 'granted').map((l) => l.target).sort()).toEqual([`user:${u0}`, `user:${u1}`, `user:${u2}`].sort())
    expect(items.filter((l) => l.result === 'refused').map((l) => l.code).sort()).toEqual(['BAD_REQUEST', 'BAD_REQUEST', 'FORBIDDEN', 'UNKNOWN_CHAIN'])
  })

  it('is idempotent per item id: a resend is answered with the first positions and writes nothing; an id reused for other content is refused', async () => {
    const [u0, u1] = users as [UserId, UserId]
    const body = { items: [item(u0, 201, { id: id(1) }), item(u1, 202, { id: id(2) })] }
    const first = await call(a.url, 'POST', '/v1/entries/batch', { token, body })
    expect(first.body.items.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([false, false])
    const lengths = await Promise.all([u0, u1].map(lengthOf))
    const again = await call(a.url, 'POST', '/v1/entries/batch', { token, body })
    expect(again.status).toBe(200)
    expect(again.body.items.map((r: { seq: number, duplicate: boolean, id: string }) => [r.seq, r.duplicate, r.id]))
      .toEqual(first.body.items.map((r: { seq: number, id: string }) => [r.seq, true, r.id]))
    expect(await Promise.all([u0, u1].map(lengthOf))).toEqual(lengths)
    // The same id as the single route would send it, for other values: a conflict, not a silent overwrite or a second entry.
    const other = await call(a.url, 'POST', '/v1/entries/batch', { token, body: { items: [item(u0, 999, { id: id(1) })] } })
    expect(other.body.items[0].error.code).toBe('DUPLICATE_ENTRY')
    expect(await lengthOf(u0)).toBe(lengths[0])
  })

  it('refuses the second of two items with the same id for one user in one request, writing the first; another user\'s item may carry it', async () => {
    const [u0, u1] = users as [UserId, UserId]
    const lengths = await Promise.all([u0, u1].map(lengthOf))
    const reply = await call(a.url, 'POST', '/v1/entries/batch', {
      token,
      body: { items: [item(u0, 301, { id: id(3) }), item(u0, 302, { id: id(3) }), item(u1, 303, { id: id(3) })] }
    })
    expect(reply.body.items[0].ok).toBe(true)
    expect(reply.body.items[1].error.code).toBe('DUPLICATE_ENTRY')
    // An id is unique within a chain: u1's exam is written, as a write of its own would be.
    expect(reply.body.items[2].ok).toBe(true)
    expect(await Promise.all([u0, u1].map(lengthOf))).toEqual([lengths[0]! + 1, lengths[1]! + 1])
    expect((await examValues(u0)).filter((v) => v >= 301 && v <= 303)).toEqual([301])
    expect((await examValues(u1)).filter((v) => v >= 301 && v <= 303)).toEqual([303])
  })

  it('refuses a whole request that is not a list, holds more than api.batchMaxItems, or comes from another role: nothing written', async () => {
    const [u0] = users as [UserId]
    const length = await lengthOf(u0)
    const tooMany = await call(a.url, 'POST', '/v1/entries/batch', { token, body: { items: Array.from({ length: MAX_ITEMS + 1 }, (_, i) => item(u0, i)) } })
    expect([tooMany.status, tooMany.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    const notList = await call(a.url, 'POST', '/v1/entries/batch', { token, body: { items: item(u0, 1) } })
    expect([notList.status, notList.body.error.code, notList.body.error.field]).toEqual([400, 'BAD_REQUEST', 'body.items'])
    const inquirer = await staffToken(consortium.node('agency-c'))
    const c = consortium.node('agency-c')
    const wrongRole = await call(c.url, 'POST', '/v1/entries/batch', { token: inquirer, body: { items: [item(u0, 1)] } })
    expect([wrongRole.status, wrongRole.body.error.code]).toEqual([403, 'FORBIDDEN'])
    const noToken = await call(a.url, 'POST', '/v1/entries/batch', { body: { items: [item(u0, 1)] } })
    expect([noToken.status, noToken.body.error.code]).toEqual([401, 'MISSING_TOKEN'])
    expect(await lengthOf(u0)).toBe(length)
  })
})

describe('POST /v1/fhir: a FHIR transaction Bundle', () => {
  const observation = (user: string, value: number): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Heart rate' },
    subject: { reference: `Patient/${user}` },
    effectiveDateTime: '2026-03-01T09:30:00Z',
    valueQuantity: { value, system: 'http://unitsofmeasure.org', code: '/min' }
  })
  const entry = (resource: Observation, fullUrl?: string): BundleEntry => ({
    ...(fullUrl === undefined ? {} : { fullUrl }), resource, request: { method: 'POST', url: 'Observation' }
  })
  const uuid = (n: number): string => `urn:uuid:00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

  it('stores each Observation as an exam of the Patient it names and answers a transaction-response per entry', async () => {
    const [u0, u1, u2] = users as [UserId, UserId, UserId]
    const lengths = await Promise.all(users.map(lengthOf))
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry(observation(u0, 61), uuid(1)),
        entry(observation(u1, 62), uuid(2)),
        entry({ ...observation(u2, 63), subject: { reference: 'Patient/not-a-user' } }),
        { ...entry(observation(u2, 64)), request: { method: 'PUT', url: 'Observation/1' } },
        entry({ ...observation(u2, 65), status: 'done' as Observation['status'] }),
        entry(observation(u2, 66), uuid(1))
      ]
    }
    const reply = await call(a.url, 'POST', '/v1/fhir', { token, body: bundle })
    expect(reply.status).toBe(200)
    expect(reply.body.resourceType).toBe('Bundle')
    expect(reply.body.type).toBe('transaction-response')
    type Answer = { response: { status: string, location?: string, outcome?: { issue: Array<{ details: { coding: Array<{ code: string }> } }> } } }
    const answers = reply.body.entry as Answer[]
    const refused = '422 Unprocessable Entity'
    expect(answers.map((e) => e.response.status)).toEqual(['201 Created', '201 Created', refused, refused, refused, refused])
    expect(answers.slice(2).map((e) => e.response.outcome!.issue[0]!.details.coding[0]!.code)).toEqual(['FHIR_UNSUPPORTED', 'FHIR_UNSUPPORTED', 'FHIR_INVALID', 'FHIR_INVALID'])
    expect(answers[0]!.response.location).toBe(`/v1/users/${u0}/entries?start=${lengths[0]}&end=${lengths[0]! + 1}`)
    expect(await Promise.all(users.map(lengthOf))).toEqual([lengths[0]! + 1, lengths[1]! + 1, lengths[2]])

    // Resent (a timeout on the hospital's side): the urn:uuid entries are answered 200 at the same place, not written again.
    const again = await call(a.url, 'POST', '/v1/fhir', { token, body: { ...bundle, entry: bundle.entry!.slice(0, 2) } })
    expect(again.body.entry.map((e: { response: { status: string, location: string } }) => [e.response.status, e.response.location]))
      .toEqual(answers.slice(0, 2).map((e) => ['200 OK', e.response.location]))
    expect(await Promise.all(users.map(lengthOf))).toEqual([lengths[0]! + 1, lengths[1]! + 1, lengths[2]])
  })

  it('refuses what is not a transaction Bundle, or too many entries, as a whole: nothing written', async () => {
    const [u0] = users as [UserId]
    const length = await lengthOf(u0)
    const collection = await call(a.url, 'POST', '/v1/fhir', { token, body: { resourceType: 'Bundle', type: 'collection', entry: [entry(observation(u0, 70))] } })
    expect([collection.status, collection.body.error.code]).toEqual([422, 'FHIR_UNSUPPORTED'])
    const notBundle = await call(a.url, 'POST', '/v1/fhir', { token, body: observation(u0, 71) })
    expect([notBundle.status, notBundle.body.error.code]).toEqual([422, 'FHIR_INVALID'])
    const malformed = await call(a.url, 'POST', '/v1/fhir', { token, body: { resourceType: 'Bundle', type: 'transaction', entry: { resource: observation(u0, 72) } } })
    expect([malformed.status, malformed.body.error.code]).toEqual([422, 'FHIR_INVALID'])
    const tooMany = await call(a.url, 'POST', '/v1/fhir', {
      token, body: { resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: MAX_ITEMS + 1 }, (_, i) => entry(observation(u0, 80 + i))) }
    })
    expect([tooMany.status, tooMany.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    const c = consortium.node('agency-c')
    const wrongRole = await call(c.url, 'POST', '/v1/fhir', { token: await staffToken(c), body: { resourceType: 'Bundle', type: 'transaction', entry: [] } })
    expect([wrongRole.status, wrongRole.body.error.code]).toEqual([403, 'FORBIDDEN'])
    expect(await lengthOf(u0)).toBe(length)
  })
})
