/**
 * The patient's on-device check (console/src/patient/chain.ts, no browser
 * needed: it is the function the timeline runs) against a real node whose
 * institution rotated its keys: the registry reply's key history lets every
 * entry verify, the exam signed before the rotation with the key of its
 * time; without the history (only the current key) that exam fails, and a
 * key history that lies about when the rotation happened fails it too.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { readPartyKeys } from '@healthchain/ledger'
import { dataDirLayout, rotateInstitutionKeys } from '@healthchain/node'
import { registrySchema, type EntryViewReply, type RegistryReply } from '@healthchain/node/api'
import { call, enrolOverHttp, staffToken, startConsortium, userToken, type TestConsortium } from '@healthchain/node/testing'
import type { UserKeys } from '@healthchain/core'
import { checkEntries } from '../src/patient/chain-check.js'

const EXAM = { type: 'exam', plain: { title: 'Pulse', observations: [{ code: '8867-4', value: 61, unit: '/min' }] }, sealed: { notes: 'ok' } }

let net: TestConsortium
let user: UserKeys
let chainKey: string
let views: EntryViewReply[]
let registry: RegistryReply

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner']])
  const a = net.node('hospital-a')
  const staff = await staffToken(a)
  ;({ user, chainKey } = await enrolOverHttp(a, staff))
  expect((await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: staff, body: EXAM })).status).toBe(201)
  const { keys } = await rotateInstitutionKeys(dataDirLayout(join(net.dir, 'hospital-a')).keys, sodiumProvider)
  const governance = await readPartyKeys(join(net.dir, 'governance.json'))
  await a.daemon.ledger.registry.append('rotate', { institution: a.id, sign: keys.sign.publicKey, box: keys.box.publicKey }, governance.sign)
  expect((await call(a.url, 'POST', `/v1/users/${user.userId}/entries`, { token: staff, body: EXAM })).status).toBe(201)

  const token = await userToken(a, user)
  views = (await call(a.url, 'GET', `/v1/users/${user.userId}/entries?encoded=true&start=0&end=3`, { token })).body.entries
  registry = registrySchema.parse((await call(a.url, 'GET', '/v1/registry')).body)
}, 60_000)
afterAll(async () => { await net?.close() })

describe('the patient\'s check of entries signed before a key rotation', () => {
  it('verifies every entry with the key its author had at the entry\'s registry length', () => {
    expect(registry.institutions[0]!.keys).toHaveLength(2)
    const { entries } = checkEntries(views, chainKey, user, registry)
    expect(entries.map((e) => e.check)).toEqual([
      { ok: true, signer: 'you' }, { ok: true, signer: 'hospital-a' }, { ok: true, signer: 'hospital-a' }
    ])
    expect(entries.map((e) => e.sealed.state)).toEqual(['none', 'opened', 'opened'])
  })

  it('fails the old exam without the history, or with a history that moves the rotation before it', () => {
    const current = registry.institutions[0]!
    const only = (keys: RegistryReply['institutions'][number]['keys']): RegistryReply => ({ ...registry, institutions: [{ ...current, keys }] })
    const withoutHistory = checkEntries(views, chainKey, user, only([current.keys[1]!]))
    expect(withoutHistory.entries[1]!.check).toMatchObject({ ok: false, reason: expect.stringMatching(/no key of hospital-a/) })
    expect(withoutHistory.entries[2]!.check).toMatchObject({ ok: true })
    const moved = checkEntries(views, chainKey, user, only([current.keys[0]!, { ...current.keys[1]!, since: current.keys[0]!.since }]))
    expect(moved.entries[1]!.check).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) })
    expect(bytesToHex(user.sign.publicKey)).not.toBe(current.sign)
  })
})
