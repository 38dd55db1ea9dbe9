/**
 * An institution's key rotation on a chain: entries signed before the
 * registry's `rotate` entry keep verifying with the old key, on the
 * custodian and on a replica; after it, the custodian appends only what the
 * new key signs, and a verifier refuses an old-key entry backdated to a
 * registry length before the rotation once the chain has recorded a later one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { encodeEntry, generatePartyKeys, type Entry, type UserKeys } from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  crypto, enrol, examEntry, expectCode, makeConsortium, newUser, signAs, writeExam, type TestConsortium, type TestInstitution
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain
let rotated: TestInstitution
let before: number

beforeEach(async () => {
  c = await makeConsortium({ verifyWorkers: 0 })
  user = newUser()
  chain = await enrol(c.ledger, user)
  const a = c.institutions.hospitalA
  await writeExam(c.ledger, chain, a)
  before = c.ledger.registry.length
  rotated = { ...a, keys: generatePartyKeys(crypto) }
  await c.ledger.registry.append('rotate', { institution: a.id, sign: rotated.keys.sign.publicKey, box: rotated.keys.box.publicKey }, c.governance.sign)
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

describe('an institution\'s key rotation', () => {
  it('keeps entries signed before it valid, and takes entries the new key signs', async () => {
    expect(c.ledger.registry.state.institutionAt(rotated.id)!.sign).toEqual(rotated.keys.sign.publicKey)
    await writeExam(c.ledger, chain, rotated)
    const report = await c.ledger.verify(user.userId)
    expect(report.problems).toEqual([])
    expect(report.valid).toBe(true)
    expect(chain.length).toBe(3)
  })

  it('the custodian refuses an entry signed with the old key, for the current registry or backdated before the rotation', async () => {
    const old = c.institutions.hospitalA
    const length = chain.length
    await expectCode(chain.append(signAs(old, examEntry(c.ledger, chain, old), chain.key, length), length), 'BAD_SIGNATURE')
    await expectCode(chain.append(signAs(old, examEntry(c.ledger, chain, old, { reg: before }), chain.key, length), length), 'BAD_SIGNATURE')
    // The new key cannot sign for a registry length from before the rotation either.
    await expectCode(chain.append(signAs(rotated, examEntry(c.ledger, chain, rotated, { reg: before }), chain.key, length), length), 'BAD_SIGNATURE')
    expect(chain.length).toBe(length)
  })

  it('verifiers refuse an old-key entry backdated before the rotation once the chain has recorded it', async () => {
    const old = c.institutions.hospitalA
    await writeExam(c.ledger, chain, rotated)
    const seq = await rawAppend(signAs(old, examEntry(c.ledger, chain, old, { reg: before }), chain.key, coreOf(chain).length))
    expect(await problemsAt(seq)).toEqual(['BAD_SIGNATURE'])
  })

  it('verifiers refuse an entry signed with the old key against a registry that records the rotation', async () => {
    const old = c.institutions.hospitalA
    const seq = await rawAppend(signAs(old, examEntry(c.ledger, chain, old), chain.key, coreOf(chain).length))
    expect(await problemsAt(seq)).toEqual(['BAD_SIGNATURE'])
  })
})
