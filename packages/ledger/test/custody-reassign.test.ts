/**
 * A suspended custodian's user who does not move: governance reassigns the
 * custodian's chains to another examiner (the registry's `reassign`, with a
 * notice period), and from its `after` on that examiner continues the chain
 * with a migrate it writes itself. Only that examiner, only from then on,
 * only to itself; a replica checks the same.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  buildMigrate, buildGenesis, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type Entry, type InstitutionId, type MigratePlain, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import type { ContinuationOffer, Ledger, UserChain } from '../src/index.js'
import { crypto, expectCode, makeConsortium, writeExam, type TestConsortium, type TestInstitution } from './helpers/consortium.js'
import { custodyHelpers } from './helpers/custody.js'

const DAY = 24 * 3600_000
let c: TestConsortium
let user: UserKeys
let first: UserChain
let b: Ledger
let reg: Ledger
const { replicate, follow, unwire } = custodyHelpers(() => user)
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** A migrate written by `author` itself for the offer, signed against the registry length `reg`. */
function institutionMigrate (offer: ContinuationOffer, author: TestInstitution, reg: number, opts: { time?: number, plain?: MigratePlain } = {}): Entry {
  const userSide = buildMigrate(opts.plain ?? offer.plain, { time: opts.time ?? Date.now() }, crypto)
  const unsigned = { ...userSide, author: author.id, reg } as UnsignedEntry
  return signEntry(unsigned, { chainKey: offer.key, seq: offer.length }, author.keys.sign.secretKey, crypto)
}

/** Governance suspends hospital-a and reassigns its chains to `to`, the notice having run out (`after` an hour ago). */
async function reassignTo (to: InstitutionId, after = Date.now() - 3600_000): Promise<void> {
  await c.ledger.registry.append('suspend', { institution: c.institutions.hospitalA.id }, c.governance.sign, { time: after - 31 * DAY })
  await c.ledger.registry.append('reassign', { institution: c.institutions.hospitalA.id, to, after }, c.governance.sign, { time: after - 30 * DAY })
}

beforeEach(async () => {
  c = await makeConsortium()
  user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const chainKey = await c.ledger.chainKeyFor(user.userId)
  const genesis = buildGenesis(user, c.institutions.hospitalA.id, {}, crypto)
  first = await c.ledger.enrol(signEntry(genesis, { chainKey, seq: 0 }, user.sign.secretKey, crypto))
  await writeExam(c.ledger, first, c.institutions.hospitalA)
  b = await c.openPeer('hospital-b', { institution: c.institutions.hospitalB.id })
  await b.followRegistry(c.ledger.registry.key)
  reg = await c.openPeer('regulator', { institution: c.institutions.regulator.id })
  await reg.followRegistry(c.ledger.registry.key)
})
afterEach(async () => {
  unwire()
  await c.cleanup()
})

describe('a reassigned chain', () => {
  it('hospital-b continues it with its own migrate once the notice ran out; a replica follows and verifies it whole', async () => {
    await reassignTo(c.institutions.hospitalB.id)
    await replicate(c.ledger, b)
    await replicate(c.ledger, reg)
    const offer = await b.offerContinuation(user.userId)
    const next = await b.continueChain(user.userId, institutionMigrate(offer, c.institutions.hospitalB, b.registry.length))
    expect(next.user?.custodian).toBe('hospital-b')
    await writeExam(b, next, c.institutions.hospitalB)

    const followed = await follow(b, reg, offer.key, next.length)
    expect(hex(followed!.key)).toBe(hex(offer.key))
    const report = await reg.verify(user.userId)
    expect({ valid: report.valid, length: report.length, problems: report.problems, segments: report.segments.length })
      .toEqual({ valid: true, length: next.length, problems: [], segments: 2 })
  })

  it('ROLE_FORBIDDEN: before the notice ran out, without a reassignment, by another examiner, or handing the chain to a third', async () => {
    const after = Date.now() + DAY
    await reassignTo(c.institutions.hospitalB.id, after)
    await replicate(c.ledger, b)
    const offer = await b.offerContinuation(user.userId)
    const B = c.institutions.hospitalB
    // Dated before `after`.
    expect((await expectCode(b.continueChain(user.userId, institutionMigrate(offer, B, b.registry.length)), 'ROLE_FORBIDDEN')).message).toMatch(/notice/)
    // Dated after it but in the future: the custodian's clock says not yet.
    await expectCode(b.continueChain(user.userId, institutionMigrate(offer, B, b.registry.length, { time: after + 1 })), 'INVALID_FIELD', 'time')
    // Signed against a registry length before the reassign.
    await expectCode(b.continueChain(user.userId, institutionMigrate(offer, B, b.registry.length - 1, { time: after + 1 })), 'ROLE_FORBIDDEN')
    expect(hex((await b.chain(user.userId)).key)).toBe(hex(first.key))
  })

  it('ROLE_FORBIDDEN: an examiner the chain was not reassigned to, and an institution migrate of an active custodian\'s chain', async () => {
    await replicate(c.ledger, b)
    const offer = await b.offerContinuation(user.userId)
    // hospital-a is active: nobody may move its users' chains but the users.
    expect((await expectCode(b.continueChain(user.userId, institutionMigrate(offer, c.institutions.hospitalB, b.registry.length)), 'ROLE_FORBIDDEN')).message).toMatch(/no reassignment/)

    await reassignTo(c.institutions.hospitalB.id)
    await replicate(c.ledger, b)
    const again = await b.offerContinuation(user.userId)
    // The regulator signs as if it were the examiner the chain went to: its key does not verify, and it is not the reassigned one.
    const forged = institutionMigrate(again, c.institutions.regulator, b.registry.length)
    await expectCode(b.continueChain(user.userId, { ...forged, author: 'hospital-b' }), 'BAD_SIGNATURE')
    expect((await expectCode(b.continueChain(user.userId, forged), 'ROLE_FORBIDDEN')).message).toMatch(/another examiner/)
    expect(hex((await b.chain(user.userId)).key)).toBe(hex(first.key))
  })
})
