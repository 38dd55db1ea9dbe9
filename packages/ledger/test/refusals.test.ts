/**
 * Every refusal of ChainRules and of core's entry model, each with its code,
 * and each leaving the chain exactly as it was (the promise: an entry that
 * fails a check is refused and never stored).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import {
  MAX_ENTRY_BYTES, buildErasure, buildGrant, buildMigrate, buildRekey, buildUserEntry, checkMigrate, coreKeyOfSigner, generatePartyKeys, newEntryId,
  treeSignable, type Entry, type EntryOf, type InstitutionId, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import type { LedgerErrorCode, UserChain } from '../src/index.js'
import {
  appendUser, crypto, enrol, examEntry, expectCode, link, makeConsortium, newUser, signAs, writeExam,
  type TestConsortium, type TestInstitution, signerOf
} from './helpers/consortium.js'

let c: TestConsortium
let user: UserKeys
let chain: UserChain

beforeEach(async () => {
  c = await makeConsortium()
  user = newUser()
  chain = await enrol(c.ledger, user)
  await writeExam(c.ledger, chain, c.institutions.hospitalA)
})
afterEach(async () => { await c.cleanup() })

const T0 = Date.UTC(2026, 0, 1)
const steps = (): UnsignedEntry => buildUserEntry('exercise', {
  start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: 1000, unit: '{steps}' }]
}, { time: T0 }, crypto)

/** Expects `attempt` to be refused with `code` and the chain to be unchanged. */
async function refused (attempt: Promise<unknown>, code: LedgerErrorCode): Promise<void> {
  const before = chain.length
  await expectCode(attempt, code)
  await chain.settled()
  expect(chain.length).toBe(before)
}

/** Appends as an institution forwarding an entry it signed for the next position. */
function forwarded (author: TestInstitution, unsigned: UnsignedEntry, seq = chain.length): Promise<unknown> {
  return chain.append(signAs(author, unsigned, chain.key, seq), seq)
}

/** Afterwards, whatever was refused, the chain still verifies. */
afterEach(async () => {
  const report = await c.ledger.verify(user.userId)
  expect(report.problems).toEqual([])
})

describe('signatures', () => {
  it('BAD_SIGNATURE: a user entry signed by another key, for another slot or for another chain', async () => {
    const seq = chain.length
    await refused(chain.append(signAs(newUser(), steps(), chain.key, seq), seq), 'BAD_SIGNATURE')
    await refused(chain.append(signAs(user, steps(), chain.key, seq + 1), seq), 'BAD_SIGNATURE')
    await refused(chain.append(signAs(user, steps(), chain.key, seq - 1), seq), 'BAD_SIGNATURE')
    const otherChain = await c.ledger.chainKeyFor(newUser().userId)
    await refused(chain.append(signAs(user, steps(), otherChain, seq), seq), 'BAD_SIGNATURE')
    // An institution's key is not the user's either.
    await refused(chain.append(signAs(c.institutions.hospitalA, steps(), chain.key, seq), seq), 'BAD_SIGNATURE')
  })

  it('BAD_SIGNATURE: an exam signed with a key that is not its author\'s, forwarded or signed by the custodian', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    const unsigned = examEntry(c.ledger, chain, a)
    await refused(forwarded(b, unsigned), 'BAD_SIGNATURE')
    await refused(chain.appendSigned(unsigned, signerOf(b)), 'BAD_SIGNATURE')
  })

  it('BAD_SIGNATURE: after a key rotation, the old key no longer signs against the new registry', async () => {
    const a = c.institutions.hospitalA
    const fresh = generatePartyKeys(crypto)
    await c.ledger.registry.append('rotate', { institution: a.id, sign: fresh.sign.publicKey, box: fresh.box.publicKey }, c.governance.sign)
    const unsigned = examEntry(c.ledger, chain, a, { recipients: [user.box.publicKey, fresh.box.publicKey] })
    await refused(chain.appendSigned(unsigned, signerOf(a)), 'BAD_SIGNATURE')
    const rotated: TestInstitution = { ...a, keys: fresh }
    expect((await chain.appendSigned(unsigned, signerOf(rotated))).seq).toBe(2)
  })
})

describe('authors and roles', () => {
  it('ROLE_FORBIDDEN: an exam authored by the inquirer or the regulator, with their real keys', async () => {
    for (const author of [c.institutions.agency, c.institutions.regulator]) {
      const unsigned = examEntry(c.ledger, chain, author)
      await refused(forwarded(author, unsigned), 'ROLE_FORBIDDEN')
      await refused(chain.appendSigned(unsigned, signerOf(author)), 'ROLE_FORBIDDEN')
    }
  })

  it('ROLE_FORBIDDEN: the user cannot grant sealed access to an inquirer or a regulator', async () => {
    for (const reader of [c.institutions.agency, c.institutions.regulator]) {
      const grant = buildGrant({ examiner: reader.id, examinerBox: reader.keys.box.publicKey, chainKey: chain.key, userBox: user.box }, crypto)
      await refused(appendUser(chain, user, grant), 'ROLE_FORBIDDEN')
    }
  })

  it('UNKNOWN_AUTHOR: an author the registry does not know at the length it signed against', async () => {
    const stranger: TestInstitution = { id: 'hospital-z' as InstitutionId, role: 'examiner', keys: generatePartyKeys(crypto) }
    await refused(forwarded(stranger, examEntry(c.ledger, chain, stranger)), 'UNKNOWN_AUTHOR')

    // Admitted later than the registry length it cites.
    const late: TestInstitution = { id: 'hospital-c' as InstitutionId, role: 'examiner', keys: generatePartyKeys(crypto) }
    const before = c.ledger.registry.length
    await c.ledger.registry.append('admit', { institution: late.id, name: 'C', role: 'examiner', sign: late.keys.sign.publicKey, box: late.keys.box.publicKey }, c.governance.sign)
    await refused(forwarded(late, examEntry(c.ledger, chain, late, { reg: before })), 'UNKNOWN_AUTHOR')
    await forwarded(late, examEntry(c.ledger, chain, late))
  })

  it('AUTHOR_SUSPENDED: an exam by hospital-b after its suspension; accepted again once reinstated', async () => {
    const b = c.institutions.hospitalB
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)
    await refused(forwarded(b, examEntry(c.ledger, chain, b)), 'AUTHOR_SUSPENDED')
    await refused(chain.appendSigned(examEntry(c.ledger, chain, b), signerOf(b)), 'AUTHOR_SUSPENDED')
    await c.ledger.registry.append('reinstate', { institution: b.id }, c.governance.sign)
    await forwarded(b, examEntry(c.ledger, chain, b))
  })

  it('AUTHOR_SUSPENDED: a suspended institution cannot write by citing a registry length from before its suspension', async () => {
    const b = c.institutions.hospitalB
    const before = c.ledger.registry.length
    await c.ledger.registry.append('suspend', { institution: b.id }, c.governance.sign)
    const length = chain.length
    await refused(forwarded(b, examEntry(c.ledger, chain, b, { reg: before })), 'AUTHOR_SUSPENDED')
    await refused(chain.appendSigned(examEntry(c.ledger, chain, b, { reg: before }), signerOf(b)), 'AUTHOR_SUSPENDED')
    expect(chain.length).toBe(length)
  })

  it('REGISTRY_BEHIND: an entry signed against a registry longer than this node has', async () => {
    const a = c.institutions.hospitalA
    await refused(forwarded(a, examEntry(c.ledger, chain, a, { reg: c.ledger.registry.length + 1 })), 'REGISTRY_BEHIND')
  })
})

describe('consent and erasure', () => {
  it('CONSENT_VIOLATION: an exam sealed for an examiner without a grant, or not sealed for the user', async () => {
    const { hospitalA: a, hospitalB: b } = c.institutions
    const withB = [user.box.publicKey, a.keys.box.publicKey, b.keys.box.publicKey]
    await refused(forwarded(a, examEntry(c.ledger, chain, a, { recipients: withB })), 'CONSENT_VIOLATION')
    await refused(forwarded(a, examEntry(c.ledger, chain, a, { recipients: [a.keys.box.publicKey] })), 'CONSENT_VIOLATION')
    // A key nobody in the registry holds.
    await refused(forwarded(a, examEntry(c.ledger, chain, a, { recipients: [user.box.publicKey, generatePartyKeys(crypto).box.publicKey] })), 'CONSENT_VIOLATION')
  })

  it('BAD_ERASURE: erasing a consent entry, an erasure, the erasure itself or a later position', async () => {
    const b = c.institutions.hospitalB
    await appendUser(chain, user, buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box }, crypto))
    const consentSeq = chain.length - 1
    await refused(appendUser(chain, user, buildErasure([consentSeq], {}, crypto)), 'BAD_ERASURE')
    await refused(appendUser(chain, user, buildErasure([1, consentSeq], {}, crypto)), 'BAD_ERASURE')
    await refused(appendUser(chain, user, buildErasure([chain.length], {}, crypto)), 'BAD_ERASURE')
    await refused(appendUser(chain, user, buildErasure([chain.length + 5], {}, crypto)), 'BAD_ERASURE')
    await appendUser(chain, user, buildErasure([1], {}, crypto))
    await refused(appendUser(chain, user, buildErasure([chain.length - 1], {}, crypto)), 'BAD_ERASURE')
  })

  it('erasing the genesis is refused by core\'s schema (INVALID_FIELD), built or raw', async () => {
    expect(() => buildErasure([0], {}, crypto)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD' }))
    const raw = { v: 1, type: 'erasure', id: newEntryId(crypto), time: T0, author: 'user', plain: { entries: [0] }, sig: new Uint8Array(64) }
    await refused(chain.append(raw as unknown as Entry, chain.length), 'INVALID_FIELD')
  })
})

describe('malformed blocks', () => {
  function raw (overrides: Record<string, unknown>): Entry {
    const base = {
      v: 1,
      type: 'exercise',
      id: newEntryId(crypto),
      time: T0,
      author: 'user',
      plain: { start: T0, end: T0 + 1000, observations: [{ code: '55423-8', value: 1 }] },
      sig: new Uint8Array(64)
    }
    return { ...base, ...overrides } as unknown as Entry
  }

  it('refuses unknown types, invalid fields, unsupported versions and oversized entries with core\'s codes', async () => {
    const seq = chain.length
    await refused(chain.append(raw({ type: 'diagnosis' }), seq), 'UNKNOWN_TYPE')
    await refused(chain.append(raw({ v: 2 }), seq), 'UNSUPPORTED_VERSION')
    await refused(chain.append(raw({ id: new Uint8Array(15) }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ id: 'not-bytes' }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ sig: new Uint8Array(10) }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ author: 'hospital-a' }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ reg: 3 }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ extra: true }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ plain: { start: T0, end: T0 - 1, observations: [{ code: '55423-8', value: 1 }] } }), seq), 'INVALID_FIELD')
    await refused(chain.append(raw({ time: 5 }), seq), 'INVALID_FIELD')
    await refused(chain.append(null as unknown as Entry, seq), 'MALFORMED')
    // An exam whose ciphertext alone fills the size limit.
    const exam = signAs(c.institutions.hospitalA, examEntry(c.ledger, chain, c.institutions.hospitalA), chain.key, seq)
    const huge = { ...exam, sealed: { ...exam.sealed!, ct: new Uint8Array(MAX_ENTRY_BYTES) } }
    await refused(chain.append(huge as Entry, seq), 'TOO_LARGE')
    // The same through the custodian's signing path.
    await refused(chain.appendSigned(raw({ type: 'diagnosis' }) as unknown as UnsignedEntry, signerOf(c.institutions.hospitalA)), 'UNKNOWN_TYPE')
  })
})

describe('custody', () => {
  it('NOT_CUSTODIAN: a replica cannot append, whoever signed the entry', async () => {
    const peer = await c.openPeer('regulator', { institution: c.institutions.regulator.id })
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    let replica: UserChain
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      await peer.registry.refresh()
      replica = await peer.replicaOf(user.userId, chain.key)
      await wire.fetch(coreOf(replica), chain.length)
    } finally {
      wire.destroy()
    }
    expect(replica.length).toBe(chain.length)
    expect(replica.writable).toBe(false)
    const seq = replica.length
    await expectCode(replica.append(signAs(user, steps(), chain.key, seq), seq), 'NOT_CUSTODIAN')
    const a = c.institutions.hospitalA
    const unsigned = examEntry(c.ledger, chain, a)
    await expectCode(replica.appendSigned(unsigned, signerOf(a)), 'NOT_CUSTODIAN')
    expect(replica.length).toBe(seq)
    expect(coreOf(replica).length).toBe(seq)
    expect((await peer.verify(user.userId)).valid).toBe(true)
  })

  it('UNKNOWN_CHAIN for a user held nowhere here, CLOSED after close', async () => {
    await expectCode(c.ledger.chain(newUser().userId), 'UNKNOWN_CHAIN')
    await expectCode(c.ledger.verify(newUser().userId), 'UNKNOWN_CHAIN')
    await c.ledger.close()
    await expectCode(c.ledger.chain(user.userId), 'CLOSED')
    await expectCode(enrol(c.ledger, newUser()), 'CLOSED')
    await c.reopen()
  })
})

describe('custody entries a chain refuses', () => {
  it('INVALID_FIELD: a migrate, signed by the user with a head that verifies, in a chain\'s first core (no boundary to stand at)', async () => {
    const old = generatePartyKeys(crypto).sign
    const from = coreKeyOfSigner(old.publicKey)
    const prologue = crypto.randomBytes(32)
    const length = chain.length
    const headSig = crypto.sign(treeSignable(from, prologue, length, 0), old.secretKey)
    const unsigned = buildMigrate({ from, length, fork: 0, prologue, signer: old.publicKey, headSig, to: c.institutions.hospitalB.id, lineage: [] }, {}, crypto)
    checkMigrate((unsigned as EntryOf<'migrate'>).plain, crypto)
    const seq = chain.length
    await expectCode(chain.append(signAs(user, unsigned, chain.key, seq), seq), 'INVALID_FIELD', 'plain.length')
    expect(chain.length).toBe(seq)
  })

  it('BAD_KEY: a rekey in a chain whose genesis committed to no next keys, signed by the revealed key or by the user\'s current one', async () => {
    const next = { ...generatePartyKeys(crypto), userId: user.userId }
    const after = { ...generatePartyKeys(crypto), userId: user.userId }
    const seq = chain.length
    for (const signer of [next, user]) {
      await expectCode(chain.append(signAs(signer, buildRekey(1, next, after, {}, crypto), chain.key, seq), seq), 'BAD_KEY', 'plain.next')
      expect(chain.length).toBe(seq)
    }
  })
})
