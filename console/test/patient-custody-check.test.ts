/**
 * The patient's on-device check (chain-check.ts, the function the timeline
 * runs; no browser needed) of a chain that moved from hospital-a to
 * hospital-b and whose user renewed their keys, read from hospital-b (the
 * custodian, which holds the whole chain): every entry verifies for the key
 * of the core it was written in and, for the user's, the key in force at
 * its position; every seal opens with the generation it was sealed to. Bad
 * paths: a user entry after the renewal re-signed with the rotated-out key,
 * an entry before the move re-signed for the new core's key, a view whose
 * core key lies, and a device whose phrase does not derive the renewed keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, decodeEntry, encodeEntry, fromHex, signEntry, type Entry, type UserKeys } from '@healthchain/core'
import { registrySchema, type EntryViewReply, type RegistryReply } from '@healthchain/node/api'
import { call, staffToken, startConsortium, userToken, type TestConsortium } from '@healthchain/node/testing'
import { layoutOfViews, prologueOf } from '../src/chain-keys.js'
import { checkEntries } from '../src/patient/chain-check.js'
import { entryTitle } from '../src/patient/labels.js'
import { checkHead } from '../src/head-check.js'
import { seedMovedPatient, type MovedPatient } from './custody-seed.js'
import { crypto } from './patient-seed.js'

let net: TestConsortium
let patient: MovedPatient
let views: EntryViewReply[]
let registry: RegistryReply
let headReply: any

/** `view` with its stored entry re-signed by `keys` for (chainKey, its position). */
function resigned (view: EntryViewReply, keys: UserKeys, chainKey: string): EntryViewReply {
  const entry = decodeEntry(fromHex(view.encoded!, view.encoded!.length / 2, 'encoded')) as Entry
  const { sig: _sig, ...unsigned } = entry
  const forged = signEntry(unsigned as Parameters<typeof signEntry>[0], { chainKey: fromHex(chainKey, 32, 'chainKey'), seq: view.seq }, keys.sign.secretKey, crypto)
  return { ...view, encoded: bytesToHex(encodeEntry(forged)) }
}

const generations = (): UserKeys[] => [...patient.keys]

beforeAll(async () => {
  net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']])
  const a = net.node('hospital-a')
  const b = net.node('hospital-b')
  patient = await seedMovedPatient(a, b, await staffToken(a), await staffToken(b))
  const token = await userToken(b, patient.keys[1])
  const read = await call(b.url, 'GET', `/v1/users/${patient.keys[0].userId}/entries?encoded=true&start=0`, { token })
  views = read.body.entries
  registry = registrySchema.parse((await call(b.url, 'GET', '/v1/registry')).body)
  headReply = (await call(b.url, 'GET', `/v1/users/${patient.keys[0].userId}/head`, { token })).body
}, 90_000)
afterAll(async () => { await net?.close() })

describe('the patient\'s check of a moved chain whose keys were renewed', () => {
  it('verifies every entry for the key of its core and the user key in force at its position', () => {
    const { entries, custodian, segments, generation } = checkEntries(views, patient.newKey, generations(), registry)
    expect(entries.map((e) => [e.seq, e.view.type, e.check])).toEqual([
      [0, 'genesis', { ok: true, signer: 'you' }],
      [1, 'exam', { ok: true, signer: 'hospital-a' }],
      [2, 'migrate', { ok: true, signer: 'you' }],
      [3, 'exam', { ok: true, signer: 'hospital-b' }],
      [4, 'rekey', { ok: true, signer: 'you' }],
      [5, 'exam', { ok: true, signer: 'hospital-b' }],
      [6, 'exercise', { ok: true, signer: 'you' }]
    ])
    expect(patient.moved).toBe(2)
    expect(entries.map((e) => e.sealed.state)).toEqual(['none', 'opened', 'none', 'opened', 'none', 'opened', 'none'])
    expect(entries.map((e) => e.segmentKey)).toEqual([patient.oldKey, patient.oldKey, ...Array(5).fill(patient.newKey)])
    expect(entries.map((e) => e.generation)).toEqual([0, 0, 0, 0, 1, 1, 1])
    expect(custodian).toBe('hospital-b')
    expect(generation).toBe(1)
    expect(segments).toEqual([{ key: patient.oldKey, start: 0, end: 2 }, { key: patient.newKey, start: 2, end: undefined }])
  })

  it('marks a user entry after the renewal signed with the rotated-out key', () => {
    const forged = views.map((v) => v.seq === patient.exerciseSeq ? resigned(v, patient.keys[0], patient.newKey) : v)
    const { entries } = checkEntries(forged, patient.newKey, generations(), registry)
    expect(entries[patient.exerciseSeq]!.check).toEqual({ ok: false, reason: 'your signature does not verify under your key in force at this position' })
    expect(entries.filter((e) => !e.check.ok)).toHaveLength(1)
  })

  it('marks an entry of the old core signed for the new core\'s key, and a view that names another core', () => {
    const forged = views.map((v) => v.seq === 0 ? resigned(v, patient.keys[0], patient.newKey) : v)
    expect(checkEntries(forged, patient.newKey, generations(), registry).entries[0]!.check).toMatchObject({ ok: false })
    const lying = views.map((v) => v.seq === 1 ? { ...v, segmentKey: undefined } : v)
    expect(checkEntries(lying, patient.newKey, generations(), registry).entries[1]!.check)
      .toEqual({ ok: false, reason: 'what the node shows differs from the stored entry in the core it was written in' })
  })

  it('refuses a renewal to keys the phrase does not derive, and the entries signed with them', () => {
    const other = [patient.keys[0], { ...patient.keys[1], sign: patient.keys[0].sign }]
    const { entries } = checkEntries(views, patient.newKey, other, registry)
    expect(entries[patient.rekeySeq]!.check).toEqual({ ok: false, reason: 'this key renewal is refused: its keys are not the ones your recovery phrase derives' })
    expect(entries[patient.exerciseSeq]!.check).toMatchObject({ ok: false })
  })

  it('checks the custodian\'s signed head of the continuation core with its prologue', () => {
    expect(headReply.head).not.toBeNull()
    const { prologue } = checkEntries(views, patient.newKey, generations(), registry)
    expect(prologue?.length).toBe(patient.moved)
    expect(checkHead(headReply, registry, patient.newKey, prologue)).toMatchObject({ present: true, headValid: true, ofThisChain: true, length: views.length })
    // Without the prologue the migrate names, the continuation's key is not the signer's alone: the head does not verify.
    expect(checkHead(headReply, registry, patient.newKey)).toMatchObject({ headValid: false })
    expect(checkHead(headReply, registry, patient.newKey, { ...prologue!, length: prologue!.length + 1 })).toMatchObject({ headValid: false })
  })

  it('gives a regulator, who reads the migrate entries\' plain segments only, the same cores and prologue', () => {
    const { segments, prologue } = checkEntries(views, patient.newKey, generations(), registry)
    const layout = layoutOfViews(views.filter((v) => v.type === 'migrate'), patient.newKey)
    expect([layout.segments, prologueOf(layout), layout.problem]).toEqual([segments, prologue, undefined])
    // A migrate whose old head is damaged gives no cores, and says why.
    const damaged = views.map((v) => v.type === 'migrate' ? { ...v, plain: { ...(v.plain as object), from: patient.newKey } } : v)
    expect(layoutOfViews(damaged, patient.newKey).problem).toMatch(/does not verify/)
    const malformed = views.map((v) => v.type === 'migrate' ? { ...v, plain: { ...(v.plain as object), headSig: 'ab' } } : v)
    expect(layoutOfViews(malformed, patient.newKey).problem).toMatch(/malformed/)
  })

  it('tells the move and the renewal in words: by the user, or by the new custodian under a governance reassignment', () => {
    const { entries } = checkEntries(views, patient.newKey, generations(), registry)
    expect(entryTitle(entries[patient.moved]!)).toBe('Moved to hospital-b, by you')
    expect(entryTitle(entries[patient.rekeySeq]!)).toBe('Keys renewed (generation 1)')
    const moved = entries[patient.moved]!
    const reassigned = { ...moved, entry: { ...moved.entry!, author: 'hospital-b' } } as typeof moved
    expect(entryTitle(reassigned)).toBe('Moved to hospital-b, by hospital-b under a governance reassignment')
  })
})
