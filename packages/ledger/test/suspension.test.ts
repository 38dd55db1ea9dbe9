/**
 * A suspended institution loses what the user's grant gave it and cannot
 * write by backdating: exams are no longer sealed for it, a custodian refuses
 * to append one that is, and every verifier (replica, regulator) refuses
 * what a colluding custodian appends anyway — an exam sealed for it, or an
 * entry it signed against a registry length from before its suspension,
 * once the chain has recorded a later one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildGrant, encodeEntry, type Entry, type InstitutionId, type UserKeys } from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, expectCode, makeConsortium, newUser, signAs, signerOf, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain

beforeEach(async () => {
  c = await makeConsortium({ verifyWorkers: 0 })
  user = newUser()
  chain = await enrol(c.ledger, user)
})
afterEach(async () => { await c.cleanup() })

/** Appends a block past every rule, as a custodian that lies can. */
async function rawAppend (entry: Entry): Promise<number> {
  const seq = coreOf(chain).length
  await coreOf(chain).append(encodeEntry(entry))
  return seq
}

async function problemsAt (seq: number): Promise<string[]> {
  const report = await c.ledger.verify(user.userId)
  return report.problems.filter((p) => p.seq === seq).map((p) => p.code)
}

async function grantB (): Promise<void> {
  const b = c.institutions.hospitalB
  await appendUser(chain, user, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box }, crypto))
}

describe('a suspended examiner', () => {
  it('is no longer a recipient of new exams, and a custodian refuses an exam sealed for it', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    await grantB()
    const withB = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    expect(chain.examRecipients(a.keys.box.publicKey)).toHaveLength(3)
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)

    expect(chain.examRecipients(a.keys.box.publicKey)).toEqual([user.box.publicKey, a.keys.box.publicKey])
    const length = chain.length
    await expectCode(chain.appendSigned(examEntry(c.ledger, chain, a, { recipients: withB }), signerOf(a)), 'CONSENT_VIOLATION')
    // Signed elsewhere against the registry from before the suspension: the custodian judges by its own registry too.
    const before = c.ledger.registry.length - 1
    const stale = signAs(a, examEntry(c.ledger, chain, a, { recipients: withB, reg: before }), chain.key, chain.length)
    await expectCode(chain.append(stale, chain.length), 'CONSENT_VIOLATION')
    expect(chain.length).toBe(length)

    // Reinstated: sealed for again.
    await c.ledger.registry.append('reinstate', { institution: b.id }, c.governance.sign)
    expect(chain.examRecipients(a.keys.box.publicKey)).toHaveLength(3)
    await writeExam(c.ledger, chain, a, { recipients: withB })
  })

  it('verifiers refuse an exam a custodian seals for it after the suspension', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    await grantB()
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)
    const withB = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    const seq = await rawAppend(signAs(a, examEntry(c.ledger, chain, a, { recipients: withB }), chain.key, coreOf(chain).length))
    expect(await problemsAt(seq)).toEqual(['CONSENT_VIOLATION'])
  })

  it('verifiers refuse an exam sealed for it against an older registry, once the chain has recorded the suspension', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    await grantB()
    const before = c.ledger.registry.length
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)
    await writeExam(c.ledger, chain, a)
    const withB = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    const seq = await rawAppend(signAs(a, examEntry(c.ledger, chain, a, { recipients: withB, reg: before }), chain.key, coreOf(chain).length))
    expect(await problemsAt(seq)).toEqual(['CONSENT_VIOLATION'])
  })

  it('cannot write by backdating: verifiers refuse its entry signed before the suspension once the chain has recorded it', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    const before = c.ledger.registry.length
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)
    // An honest entry signed against the registry that records the suspension…
    await writeExam(c.ledger, chain, a)
    // … then hospital-b's exam, signed against the registry from before it, appended by a colluding custodian.
    const recipients = [user.box.publicKey, b.keys.box.publicKey]
    const seq = await rawAppend(signAs(b, examEntry(c.ledger, chain, b, { reg: before, recipients }), chain.key, coreOf(chain).length))
    expect(await problemsAt(seq)).toEqual(['AUTHOR_SUSPENDED'])
  })

  it('an honest writer whose registry lags (an older registry length than the chain has recorded) is still accepted', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    const before = c.ledger.registry.length
    await c.ledger.registry.append('admit', {
      institution: 'hospital-c' as InstitutionId, name: 'C', role: 'examiner', sign: new Uint8Array(32).fill(3), box: new Uint8Array(32).fill(4)
    }, c.governance.sign)
    await writeExam(c.ledger, chain, a)
    const seq = chain.length
    await chain.append(signAs(b, examEntry(c.ledger, chain, b, { reg: before, recipients: [user.box.publicKey, b.keys.box.publicKey] }), chain.key, seq), seq)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})
