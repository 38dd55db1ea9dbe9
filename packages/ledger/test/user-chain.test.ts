/**
 * User chains: enrolment from a user-signed genesis, the user's own entries,
 * and reads by position, type and time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildErasure, buildGrant, buildRevoke, buildUserEntry, bytesToHex, encodeEntry, signEntry, buildGenesis,
  type Entry, type ExercisePlain, type LocationPlain
} from '@healthchain/core'
import {
  appendUser, crypto, enrol, expectCode, genesisFor, makeConsortium, newUser, signAs, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

const T0 = Date.UTC(2026, 0, 1)
const HOUR = 3_600_000

function exercise (start: number): ExercisePlain {
  return { start, end: start + HOUR, observations: [{ code: '55423-8', value: 4200, unit: '{steps}' }] }
}
function location (time: number): LocationPlain {
  return { points: [{ lat: 46.2, lon: 6.14, acc: 12, time }, { lat: 46.21, lon: 6.15, acc: 8, time: time + 60_000 }] }
}

describe('enrolment', () => {
  it('enrols a user from a genesis signed for chainKeyFor(user) at position 0', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chainKey = await c.ledger.chainKeyFor(user.userId)
    expect(c.ledger.hasChain(user.userId)).toBe(false)
    // chainKeyFor writes nothing and is stable.
    expect(bytesToHex(await c.ledger.chainKeyFor(user.userId))).toBe(bytesToHex(chainKey))

    const chain = await c.ledger.enrol(genesisFor(user, c.institutions.hospitalA.id, chainKey))
    expect(bytesToHex(chain.key)).toBe(bytesToHex(chainKey))
    expect(chain.length).toBe(1)
    expect(chain.writable).toBe(true)
    expect(chain.userId).toBe(user.userId)
    expect(chain.user?.custodian).toBe('hospital-a')
    expect(bytesToHex(chain.user!.box)).toBe(bytesToHex(user.box.publicKey))
    const genesis = await chain.get(0)
    expect(genesis?.type).toBe('genesis')
    expect(c.ledger.hasChain(user.userId)).toBe(true)
    expect(c.ledger.users()).toEqual([user.userId])
    expect(c.ledger.chainCount).toBe(1)
    expect(await c.ledger.chain(user.userId)).toBe(chain)

    const report = await c.ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, length: 1, verified: 1, userId: user.userId, problems: [] })
  })

  it('refuses a second enrolment with ALREADY_ENROLLED; the same genesis twice at once enrols once and answers both', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    await expectCode(enrol(c.ledger, user), 'ALREADY_ENROLLED')
    expect(chain.length).toBe(1)

    // Two enrolments of one user at once (a retried request): one chain, one genesis, both answered with it.
    const other = newUser()
    const chainKey = await c.ledger.chainKeyFor(other.userId)
    const genesis = genesisFor(other, c.institutions.hospitalA.id, chainKey)
    const [first, second] = await Promise.all([c.ledger.enrol(genesis), c.ledger.enrol(genesis)])
    expect(second).toBe(first)
    const raced = await c.ledger.chain(other.userId)
    expect(raced.length).toBe(1)
    expect((await c.ledger.verify(other.userId)).valid).toBe(true)
    expect(c.ledger.chainCount).toBe(2)
  })

  it('refuses a genesis naming another custodian or signed for another slot with BAD_GENESIS, and writes nothing', async () => {
    c = await makeConsortium()
    const user = newUser()
    const a = c.institutions.hospitalA.id
    const chainKey = await c.ledger.chainKeyFor(user.userId)
    const otherKey = await c.ledger.chainKeyFor(newUser().userId)

    await expectCode(c.ledger.enrol(genesisFor(user, c.institutions.hospitalB.id, chainKey)), 'BAD_GENESIS')
    await expectCode(c.ledger.enrol(genesisFor(user, a, otherKey)), 'BAD_GENESIS')
    const atOne = signEntry(buildGenesis(user, a, {}, crypto), { chainKey, seq: 1 }, user.sign.secretKey, crypto)
    await expectCode(c.ledger.enrol(atOne), 'BAD_GENESIS')
    // Signed by someone other than the user it names.
    await expectCode(c.ledger.enrol(genesisFor(user, a, chainKey, newUser())), 'BAD_GENESIS')
    // Not a genesis at all.
    const notGenesis = signAs(user, buildUserEntry('location', location(T0), {}, crypto), chainKey, 0)
    await expectCode(c.ledger.enrol(notGenesis), 'BAD_GENESIS')

    expect(c.ledger.hasChain(user.userId)).toBe(false)
    await expectCode(c.ledger.chain(user.userId), 'UNKNOWN_CHAIN')
    // Nothing was written: the right genesis still enrols at position 0.
    const chain = await c.ledger.enrol(genesisFor(user, a, chainKey))
    expect(chain.length).toBe(1)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })

  it('enrols only on a node that runs as an institution', async () => {
    c = await makeConsortium()
    const bare = await c.openPeer('no-institution')
    await bare.followRegistry(c.ledger.registry.key)
    const user = newUser()
    await expectCode(bare.enrol(genesisFor(user, c.institutions.hospitalA.id, await bare.chainKeyFor(user.userId))), 'NOT_CUSTODIAN')
  })
})

describe('user entries', () => {
  it('appends exercise, location, consent and erasure entries signed by the user for their slot', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    const b = c.institutions.hospitalB

    const unsigned = [
      buildUserEntry('exercise', exercise(T0), { time: T0 }, crypto),
      buildUserEntry('location', location(T0), { time: T0 + HOUR }, crypto),
      buildGrant({ examiner: b.id, examinerBox: b.keys.box.publicKey, chainKey: chain.key, userBox: user.box, time: T0 + 2 * HOUR }, crypto),
      buildRevoke(b.id, { time: T0 + 3 * HOUR }, crypto),
      buildErasure([2], { time: T0 + 4 * HOUR }, crypto)
    ]
    const written: Entry[] = []
    for (const [i, entry] of unsigned.entries()) {
      const signed = signAs(user, entry, chain.key, chain.length)
      const result = await chain.append(signed, chain.length)
      expect(result).toEqual({ seq: i + 1, duplicate: false })
      written.push(signed)
    }
    expect(chain.length).toBe(6)
    expect(c.ledger.registry.length).toBe(5)

    // Stored exactly as signed (the erased location at 2 excepted).
    for (const [i, entry] of written.entries()) {
      const seq = i + 1
      const stored = await chain.get(seq)
      if (seq === 2) {
        expect(stored).toBeNull()
      } else {
        expect(bytesToHex(encodeEntry(stored!))).toBe(bytesToHex(encodeEntry(entry)))
      }
    }
    expect(chain.consent.isGranted(b.id, T0 + 5 * HOUR)).toBe(false)
    const report = await c.ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, length: 6, verified: 5, erased: [2], missing: [] })
  })
})

describe('reads', () => {
  it('reads by position range, by type and by time', async () => {
    c = await makeConsortium()
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    // 1 exercise @T0, 2 location @T0+1h, 3 exam (now), 4 exercise @T0+2h, 5 location @T0+3h
    await appendUser(chain, user, buildUserEntry('exercise', exercise(T0), { time: T0 }, crypto))
    await appendUser(chain, user, buildUserEntry('location', location(T0), { time: T0 + HOUR }, crypto))
    const examSeq = await writeExam(c.ledger, chain, c.institutions.hospitalA, { time: T0 + 90 * 60_000 })
    await appendUser(chain, user, buildUserEntry('exercise', exercise(T0 + 2 * HOUR), { time: T0 + 2 * HOUR }, crypto))
    await appendUser(chain, user, buildUserEntry('location', location(T0 + 3 * HOUR), { time: T0 + 3 * HOUR }, crypto))
    expect(examSeq).toBe(3)

    const seqs = async (q: Parameters<typeof chain.read>[0]): Promise<number[]> => (await chain.read(q)).map((p) => p.seq)
    expect(await seqs({})).toEqual([1, 2, 3, 4, 5])
    expect(await seqs({ start: 0 })).toEqual([0, 1, 2, 3, 4, 5])
    expect(await seqs({ start: 2, end: 4 })).toEqual([2, 3])
    expect(await seqs({ start: 4, end: 100 })).toEqual([4, 5])
    expect(await seqs({ types: ['exercise'] })).toEqual([1, 4])
    expect(await seqs({ types: ['exam', 'location'] })).toEqual([2, 3, 5])
    expect(await seqs({ since: T0 + HOUR })).toEqual([2, 3, 4, 5])
    expect(await seqs({ until: T0 + HOUR })).toEqual([1])
    expect(await seqs({ since: T0 + HOUR, until: T0 + 3 * HOUR })).toEqual([2, 3, 4])
    expect(await seqs({ types: ['location'], since: T0 + 2 * HOUR })).toEqual([5])
    expect(await seqs({ start: 2, end: 5, types: ['exercise', 'exam'], until: T0 + 2 * HOUR })).toEqual([3])

    const [first] = await chain.read({ start: 1, end: 2 })
    expect(first?.entry.type).toBe('exercise')
    expect(first?.entry.time).toBe(T0)
    await expectCode(chain.get(6), 'INVALID_FIELD')
    await expectCode(chain.get(-1), 'INVALID_FIELD')
  })
})
