/**
 * Consent: who an exam may be sealed for, as grants, revocations and expiry
 * change it; and a new examiner reading the history through re-wrapped keys.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  buildGrant, buildRevoke, bytesToHex, isCoreError, openSealed, openWithDataKey, unwrapDataKey,
  type Entry, type UserKeys
} from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, expectCode, makeConsortium, newUser, sampleSealed, signAs, writeExam,
  type TestConsortium, type TestInstitution
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain
let a: TestInstitution
let b: TestInstitution

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  a = c.institutions.hospitalA
  b = c.institutions.hospitalB
})
afterEach(async () => {
  // Whatever was refused, what was written verifies.
  expect((await c.ledger.verify(user.userId)).problems).toEqual([])
  await c.cleanup()
})

const hex = (bytes: Uint8Array): string => bytesToHex(bytes)
const boxesOf = (keys: readonly Uint8Array[]): string[] => keys.map(hex).sort()

function grant (examiner: TestInstitution, opts: { until?: number, history?: ReadonlyArray<{ seq: number, entry: Entry }>, to?: Uint8Array } = {}) {
  return buildGrant({
    examiner: examiner.id,
    examinerBox: opts.to ?? examiner.keys.box.publicKey,
    chainKey: chain.key,
    userBox: user.box,
    ...(opts.until === undefined ? {} : { until: opts.until }),
    ...(opts.history === undefined ? {} : { history: opts.history })
  }, crypto)
}

/** Appends an exam by `author` (forwarded: signed by the author for the next position). */
async function forwardExam (author: TestInstitution, recipients?: readonly Uint8Array[], time?: number): Promise<number> {
  const unsigned = examEntry(c.ledger, chain, author, { ...(recipients === undefined ? {} : { recipients }), ...(time === undefined ? {} : { time }) })
  const seq = chain.length
  return (await chain.append(signAs(author, unsigned, chain.key, seq), seq)).seq
}

describe('grant and revoke', () => {
  it('a granted examiner is a recipient of later exams; once revoked, an exam sealed for it is CONSENT_VIOLATION', async () => {
    const three = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    expect(boxesOf(chain.examRecipients(a.keys.box.publicKey))).toEqual(boxesOf(three.slice(0, 2)))

    await appendUser(chain, user, grant(b))
    expect(chain.consent.isGranted(b.id, Date.now())).toBe(true)
    expect(boxesOf(chain.examRecipients(a.keys.box.publicKey))).toEqual(boxesOf(three))
    const sealedForB = await writeExam(c.ledger, chain, a)
    const exam = (await chain.get(sealedForB))!
    expect(openSealed(exam.sealed!, b.keys.box, { chainKey: chain.key, entryId: exam.id }, crypto)).toEqual(sampleSealed)
    // hospital-b writes its own exams too, sealed for the user and itself.
    await forwardExam(b)

    await appendUser(chain, user, buildRevoke(b.id, {}, crypto))
    expect(chain.consent.isGranted(b.id, Date.now())).toBe(false)
    expect(boxesOf(chain.examRecipients(a.keys.box.publicKey))).toEqual(boxesOf(three.slice(0, 2)))
    const length = chain.length
    await expectCode(forwardExam(a, three), 'CONSENT_VIOLATION')
    expect(chain.length).toBe(length)
    // The next exam, sealed as the chain now says, is not readable by hospital-b.
    const after = (await chain.get(await writeExam(c.ledger, chain, a)))!
    expect(() => openSealed(after.sealed!, b.keys.box, { chainKey: chain.key, entryId: after.id }, crypto))
      .toThrow(expect.objectContaining({ code: 'NOT_RECIPIENT' }))
  })

  it('a grant that has expired at the exam\'s time no longer allows sealing for the examiner', async () => {
    const HOUR = 3_600_000
    const now = Date.now()
    const until = now + HOUR
    await appendUser(chain, user, grant(b, { until }))
    const three = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    expect(chain.consent.isGranted(b.id, now)).toBe(true)
    expect(chain.consent.isGranted(b.id, until)).toBe(false)
    expect(chain.examRecipients(a.keys.box.publicKey, until + HOUR).map(hex)).not.toContain(hex(b.keys.box.publicKey))
    // Exams dated at or after the end of the grant may not be sealed for hospital-b.
    await expectCode(forwardExam(a, three, until + HOUR), 'CONSENT_VIOLATION')
    await expectCode(forwardExam(a, three, until), 'CONSENT_VIOLATION')
    // While it is in force, they may.
    expect(chain.examRecipients(a.keys.box.publicKey, now).map(hex)).toContain(hex(b.keys.box.publicKey))
    expect(await forwardExam(a, three, now)).toBe(chain.length - 1)

    // A grant whose end has already passed allows nothing now.
    await appendUser(chain, user, grant(b, { until: now - HOUR }))
    expect(chain.consent.isGranted(b.id, Date.now())).toBe(false)
    await expectCode(forwardExam(a, three), 'CONSENT_VIOLATION')
    expect(chain.examRecipients(a.keys.box.publicKey).map(hex)).not.toContain(hex(b.keys.box.publicKey))
  })

  it('an exam backdated into an expired grant is refused when appended (the custodian checks consent at its own clock too)', async () => {
    const HOUR = 3_600_000
    const now = Date.now()
    await appendUser(chain, user, grant(b, { until: now - HOUR }))
    const three = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    // At its claimed time, two hours ago, the grant was in force; now it is not.
    expect(chain.consent.isGranted(b.id, now - 2 * HOUR)).toBe(true)
    const length = chain.length
    await expectCode(forwardExam(a, three, now - 2 * HOUR), 'CONSENT_VIOLATION')
    expect(chain.length).toBe(length)
  })
})

describe('history for a newly granted examiner', () => {
  it('re-wrapped keys let hospital-b open past exams, and it receives later ones directly', async () => {
    await writeExam(c.ledger, chain, a, { sealed: { notes: 'first visit' } })
    await writeExam(c.ledger, chain, a, { sealed: { notes: 'second visit' } })
    const history = await chain.read({ types: ['exam'] })
    expect(history.map((h) => h.seq)).toEqual([1, 2])
    for (const { entry } of history) {
      // Not a recipient before the grant.
      expect(() => openSealed(entry.sealed!, b.keys.box, { chainKey: chain.key, entryId: entry.id }, crypto))
        .toThrow(expect.objectContaining({ code: 'NOT_RECIPIENT' }))
    }

    const grantSeq = (await appendUser(chain, user, grant(b, { history }))).seq
    const stored = (await chain.get(grantSeq))!
    if (stored.type !== 'consent' || stored.plain.action !== 'grant' || stored.plain.rewrap === undefined) throw new Error('expected a grant with rewrapped keys')
    const rewrap = stored.plain.rewrap
    expect(hex(rewrap.to)).toBe(hex(b.keys.box.publicKey))
    expect(rewrap.keys.map((k) => k.seq)).toEqual([1, 2])

    const opened: string[] = []
    for (const k of rewrap.keys) {
      const past = (await chain.get(k.seq))!
      const ctx = { chainKey: chain.key, entryId: past.id }
      const dataKey = unwrapDataKey(k.wrap, rewrap.epk, b.keys.box, ctx, crypto)
      expect(dataKey).not.toBeNull()
      opened.push(openWithDataKey(past.sealed!, dataKey!, ctx, crypto).notes!)
      // The wrap is bound to its entry: it does not open under another entry's id, nor for hospital-a.
      expect(unwrapDataKey(k.wrap, rewrap.epk, b.keys.box, { chainKey: chain.key, entryId: new Uint8Array(16) }, crypto)).toBeNull()
      expect(unwrapDataKey(k.wrap, rewrap.epk, a.keys.box, ctx, crypto)).toBeNull()
    }
    expect(opened).toEqual(['first visit', 'second visit'])

    const later = (await chain.get(await writeExam(c.ledger, chain, a, { sealed: { notes: 'third visit' } })))!
    expect(later.sealed!.to.map((r) => hex(r.key))).toContain(hex(b.keys.box.publicKey))
    expect(openSealed(later.sealed!, b.keys.box, { chainKey: chain.key, entryId: later.id }, crypto).notes).toBe('third visit')
    // The agency is never a recipient.
    let refusedCode: string | undefined
    try {
      openSealed(later.sealed!, c.institutions.agency.keys.box, { chainKey: chain.key, entryId: later.id }, crypto)
    } catch (err) {
      if (isCoreError(err)) refusedCode = err.code
    }
    expect(refusedCode).toBe('NOT_RECIPIENT')
  })

  it('refuses re-wrapped keys addressed to another key, or naming a position that is not an earlier exam', async () => {
    await writeExam(c.ledger, chain, a)
    const history = await chain.read({ types: ['exam'] })
    const length = chain.length
    // Addressed to hospital-a's key while granting hospital-b.
    await expectCode(appendUser(chain, user, grant(b, { history, to: a.keys.box.publicKey })), 'CONSENT_VIOLATION')
    // Claims that the grant's own position is a past exam.
    await expectCode(appendUser(chain, user, grant(b, { history: [{ seq: length, entry: history[0]!.entry }] })), 'CONSENT_VIOLATION')
    // A position that holds a consent entry, not an exam.
    await appendUser(chain, user, grant(b))
    const consentSeq = chain.length - 1
    await expectCode(appendUser(chain, user, grant(b, { history: [{ seq: consentSeq, entry: history[0]!.entry }] })), 'CONSENT_VIOLATION')
    expect(chain.length).toBe(length + 1)
  })
})
