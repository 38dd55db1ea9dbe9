/**
 * The user's side of a move and a rotation, checked on the device: an offer
 * is signed only if it continues this user's chain, to the institution asked,
 * with an old head that verifies; the migrate is signed for the offer's slot
 * with the key in force; a rotatable genesis commits to generation 1, and the
 * rekey reveals it, signed by it, committing to generation 2.
 */
import { describe, expect, it } from 'vitest'
import {
  coreKeyOfManifest, nextKeyDigest, newRecoveryPhrase, treeSignable, userKeysFromPhrase, verifyEntrySignature,
  type InstitutionId, type MigratePlain
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { buildRotatableGenesis, buildRotation, checkOffer, generationOf, keysUpTo, signMigrate, type CustodyOffer } from '../src/custody-writes.js'
import { refusal } from './refusal.js'

const phrase = newRecoveryPhrase()
const user = userKeysFromPhrase(phrase, crypto)
const custodian = crypto.signKeyPairFromSeed(crypto.randomBytes(32))
const oldKey = coreKeyOfManifest({ signer: custodian.publicKey })
const genesis = buildRotatableGenesis(phrase, 'hospital-a' as InstitutionId, oldKey, crypto)

/** An offer as hospital-b would make it for a chain of length 3 under hospital-a's key. */
function offerFor (to = 'hospital-b'): CustodyOffer {
  const prologue = crypto.randomBytes(32)
  const plain: MigratePlain = {
    from: oldKey,
    length: 3,
    fork: 0,
    prologue,
    signer: custodian.publicKey,
    headSig: crypto.sign(treeSignable(oldKey, prologue, 3, 0), custodian.secretKey),
    to: to as InstitutionId,
    lineage: []
  }
  return { key: crypto.randomBytes(32), length: 3, plain }
}

describe('an offer checked on the device', () => {
  it('passes for this user\'s chain moving to the institution asked, and the migrate is signed for the offer\'s slot', () => {
    const offer = offerFor()
    expect(() => { checkOffer(offer, user, 'hospital-b' as InstitutionId, genesis, crypto) }).not.toThrow()
    const migrate = signMigrate(offer, user, crypto)
    expect(migrate).toMatchObject({ type: 'migrate', author: 'user' })
    expect(verifyEntrySignature(migrate, { chainKey: offer.key, seq: 3 }, user.sign.publicKey, crypto)).toBe(true)
  })

  it('refuses an offer to another institution, with a forged head, for another user\'s chain, or not for its own length', () => {
    expect(refusal(() => { checkOffer(offerFor('hospital-c'), user, 'hospital-b' as InstitutionId, genesis, crypto) }).code).toBe('ROLE_FORBIDDEN')
    const forged = offerFor()
    const bad = { ...forged, plain: { ...forged.plain, headSig: crypto.randomBytes(64) } }
    expect(refusal(() => { checkOffer(bad, user, 'hospital-b' as InstitutionId, genesis, crypto) })).toMatchObject({ code: 'INVALID_INPUT', field: 'plain.headSig' })
    const someoneElse = userKeysFromPhrase(newRecoveryPhrase(), crypto)
    expect(refusal(() => { checkOffer(offerFor(), someoneElse, 'hospital-b' as InstitutionId, genesis, crypto) }).code).toBe('NOT_OWN_CHAIN')
    const short = { ...offerFor(), length: 2 }
    expect(refusal(() => { checkOffer(short, user, 'hospital-b' as InstitutionId, genesis, crypto) }).code).toBe('INVALID_INPUT')
  })
})

describe('rotation from the phrase', () => {
  it('commits the genesis to generation 1, reveals it in the rekey (signed by it), and counts generations by rekeys', () => {
    if (genesis.type !== 'genesis') throw new Error('not a genesis')
    const first = userKeysFromPhrase(phrase, crypto, 1)
    expect(genesis.plain.next).toEqual(nextKeyDigest({ sign: first.sign.publicKey, box: first.box.publicKey }))
    const { unsigned, keys } = buildRotation(phrase, 0, crypto)
    const second = userKeysFromPhrase(phrase, crypto, 2)
    expect(keys.sign.publicKey).toEqual(first.sign.publicKey)
    expect(unsigned).toMatchObject({ type: 'rekey', plain: { generation: 1, sign: first.sign.publicKey, box: first.box.publicKey } })
    expect(unsigned.type === 'rekey' && unsigned.plain.next).toEqual(nextKeyDigest({ sign: second.sign.publicKey, box: second.box.publicKey }))
    expect(generationOf(['genesis', 'exam', 'rekey', 'exercise', 'rekey'])).toBe(2)
    expect(keysUpTo(phrase, 2, crypto).map((k) => k.userId)).toEqual([user.userId, user.userId, user.userId])
  })
})
