/**
 * User key rotation in a chain: a rekey reveals the keys the genesis (or the
 * rekey before) committed to, signed by the revealed key; from then on the
 * user's entries are signed by it and new exams are sealed to its box key,
 * while what was sealed before still opens with the old one. The refusals:
 * the old key signing the rekey, keys not committed to, a chain that
 * committed to none, a generation out of order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  buildGenesis, buildRekey, buildUserEntry, newRecoveryPhrase, nextKeyDigest, openSealed, signEntry, userKeysFromPhrase,
  type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import type { UserChain } from '../src/index.js'
import {
  crypto, enrol, expectCode, makeConsortium, newUser, sampleSealed, signAs, writeExam, type TestConsortium
} from './helpers/consortium.js'

let c: TestConsortium
let g: UserKeys[]
let chain: UserChain

const T0 = Date.UTC(2026, 0, 1)
const steps = (): UnsignedEntry => buildUserEntry('exercise', {
  start: T0, end: T0 + 60_000, observations: [{ code: '55423-8', value: 1000, unit: '{steps}' }]
}, { time: T0 }, crypto)

/** Signs `unsigned` with generation `gen`'s key for the chain's next position and appends it. */
async function appendAs (gen: UserKeys, unsigned: UnsignedEntry): Promise<number> {
  const seq = chain.length
  return (await chain.append(signAs(gen, unsigned, chain.key, seq), seq)).seq
}

beforeEach(async () => {
  c = await makeConsortium()
  const phrase = newRecoveryPhrase()
  g = [0, 1, 2, 3].map((generation) => userKeysFromPhrase(phrase, crypto, generation))
  const chainKey = await c.ledger.chainKeyFor(g[0]!.userId)
  const genesis = buildGenesis(g[0]!, c.institutions.hospitalA.id, { next: nextKeyDigest(g[1]!) }, crypto)
  chain = await c.ledger.enrol(signEntry(genesis, { chainKey, seq: 0 }, g[0]!.sign.secretKey, crypto))
})
afterEach(async () => {
  // Whatever was refused, what was written verifies, on the verification workers too.
  expect((await c.ledger.verify(g[0]!.userId)).problems).toEqual([])
  await c.cleanup()
})

describe('rekey', () => {
  it('moves the user to the committed keys: entries after it signed by the new key, exams sealed to the new box key', async () => {
    const [g0, g1, g2] = g as [UserKeys, UserKeys, UserKeys]
    const before = await writeExam(c.ledger, chain, c.institutions.hospitalA)
    await appendAs(g1, buildRekey(1, g1, g2, {}, crypto))
    expect(chain.user).toMatchObject({ userId: g0.userId, generation: 1, sign: g1.sign.publicKey, box: g1.box.publicKey, next: nextKeyDigest(g2) })

    // The old key no longer signs the user's entries; the new one does.
    const seq = chain.length
    await expectCode(chain.append(signAs(g0, steps(), chain.key, seq), seq), 'BAD_SIGNATURE')
    expect(chain.length).toBe(seq)
    expect(await appendAs(g1, steps())).toBe(seq)

    // New seals go to the new box key; the old seal still opens with generation 0's.
    expect(chain.examRecipients(c.institutions.hospitalA.keys.box.publicKey)[0]).toEqual(g1.box.publicKey)
    const after = await writeExam(c.ledger, chain, c.institutions.hospitalA)
    const sealedAfter = (await chain.get(after))!
    expect(openSealed(sealedAfter.sealed!, g1.box, { chainKey: chain.key, entryId: sealedAfter.id }, crypto)).toEqual(sampleSealed)
    expect(() => openSealed(sealedAfter.sealed!, g0.box, { chainKey: chain.key, entryId: sealedAfter.id }, crypto)).toThrow()
    const sealedBefore = (await chain.get(before))!
    expect(openSealed(sealedBefore.sealed!, g0.box, { chainKey: chain.key, entryId: sealedBefore.id }, crypto)).toEqual(sampleSealed)

    // A replica's verification (workers given only the genesis key) and a reopen agree.
    const report = await c.ledger.verify(g0.userId)
    expect(report.valid).toBe(true)
    expect(report.verified).toBe(chain.length)
    await c.ledger.close()
    const reopened = await (await c.reopen()).chain(g0.userId)
    expect(reopened.user).toMatchObject({ generation: 1, sign: g1.sign.publicKey })
  })

  it('two rekeys in a row reach generation 2; each must be signed by its own revealed key', async () => {
    const [g0, g1, g2, g3] = g as [UserKeys, UserKeys, UserKeys, UserKeys]
    await appendAs(g1, buildRekey(1, g1, g2, {}, crypto))
    // Generation 2 signed by generation 1's key (the one in force) is still refused: only the revealed key rotates.
    const seq = chain.length
    await expectCode(chain.append(signAs(g1, buildRekey(2, g2, g3, {}, crypto), chain.key, seq), seq), 'BAD_SIGNATURE')
    await appendAs(g2, buildRekey(2, g2, g3, {}, crypto))
    expect(chain.user).toMatchObject({ generation: 2, sign: g2.sign.publicKey, box: g2.box.publicKey })
    await expectCode(appendAs(g1, steps()), 'BAD_SIGNATURE')
    await expectCode(appendAs(g0, steps()), 'BAD_SIGNATURE')
    await appendAs(g2, steps())
  })

  it('BAD_SIGNATURE: a rekey signed by the old key', async () => {
    const [g0, g1, g2] = g as [UserKeys, UserKeys, UserKeys]
    await expectCode(appendAs(g0, buildRekey(1, g1, g2, {}, crypto)), 'BAD_SIGNATURE')
    expect(chain.user?.generation).toBe(0)
  })

  it('BAD_KEY: keys the chain did not commit to; INVALID_FIELD: a generation out of order', async () => {
    const [, g1, g2, g3] = g as [UserKeys, UserKeys, UserKeys, UserKeys]
    await expectCode(appendAs(g2, buildRekey(1, g2, g3, {}, crypto)), 'BAD_KEY', 'plain.sign')
    const stranger = newUser()
    await expectCode(appendAs(stranger, buildRekey(1, stranger, g2, {}, crypto)), 'BAD_KEY', 'plain.sign')
    await expectCode(appendAs(g1, buildRekey(2, g1, g2, {}, crypto)), 'INVALID_FIELD', 'plain.generation')
    expect(chain.length).toBe(1)
  })

  it('BAD_KEY: a chain whose genesis committed to no next keys cannot rekey', async () => {
    const user = newUser()
    const other = await enrol(c.ledger, user)
    const [, g1, g2] = g as [UserKeys, UserKeys, UserKeys]
    const seq = other.length
    await expectCode(other.append(signAs(g1, buildRekey(1, g1, g2, {}, crypto), other.key, seq), seq), 'BAD_KEY', 'plain.next')
    expect(other.length).toBe(seq)
    expect((await c.ledger.verify(user.userId)).valid).toBe(true)
  })
})
