/**
 * Author signatures are bound to every byte of the entry, to the chain and to
 * the position: no flipped byte, no replay into another slot or chain verifies.
 */
import { describe, expect, it } from 'vitest'
import {
  assertEntrySignature, buildUserEntry, CoreError, decodeEntry, encodeEntry, encodeUnsignedEntry, entrySigningMessage, signEntry, unsignedPart,
  verifyEntrySignature, type Entry
} from '@healthchain/core'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { signedExam, signedGenesis, T0, world } from './helpers/fixtures.js'

describe.each(PROVIDERS)('tampering under $name', (base) => {
  const w = world(base)
  const exam = signedExam(w, 1)
  const slot = { chainKey: w.chainKey, seq: 1 }
  const author = w.examiners.a.sign.publicKey
  const bytes = encodeEntry(exam)

  it('the untouched exam verifies (control)', () => {
    expect(verifyEntrySignature(decodeEntry(bytes), slot, author, w.crypto)).toBe(true)
  })

  it('any single flipped byte, at every position, fails decoding with a CoreError or fails verification', () => {
    const outcome = { decodeRefused: 0, signatureRefused: 0 }
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = bytes.slice()
        tampered[i]! ^= mask
        let entry: Entry
        try {
          entry = decodeEntry(tampered)
        } catch (err) {
          expect(err, `byte ${i} ^ ${mask}`).toBeInstanceOf(CoreError)
          outcome.decodeRefused++
          continue
        }
        expect(verifyEntrySignature(entry, slot, author, w.crypto), `byte ${i} ^ ${mask} verified`).toBe(false)
        outcome.signatureRefused++
      }
    }
    expect(outcome.decodeRefused + outcome.signatureRefused).toBe(bytes.length * 3)
    // Both defences are exercised: structure (decoding) and content (signature).
    expect(outcome.decodeRefused).toBeGreaterThan(0)
    expect(outcome.signatureRefused).toBeGreaterThan(0)
  })

  it('an entry replayed into another position fails verification', () => {
    for (const seq of [0, 2, 1 + 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(verifyEntrySignature(exam, { chainKey: w.chainKey, seq }, author, w.crypto)).toBe(false)
      expectCode(() => assertEntrySignature(exam, { chainKey: w.chainKey, seq }, author, w.crypto), 'BAD_SIGNATURE')
    }
    expect(() => assertEntrySignature(exam, slot, author, w.crypto)).not.toThrow()
  })

  it('an entry replayed into another chain fails verification', () => {
    expect(verifyEntrySignature(exam, { chainKey: w.otherChainKey, seq: 1 }, author, w.crypto)).toBe(false)
    expectCode(() => assertEntrySignature(exam, { chainKey: w.otherChainKey, seq: 1 }, author, w.crypto), 'BAD_SIGNATURE')
  })

  it('a genesis replayed into another chain or position fails verification', () => {
    const genesis = signedGenesis(w)
    const user = w.user.sign.publicKey
    expect(verifyEntrySignature(genesis, { chainKey: w.chainKey, seq: 0 }, user, w.crypto)).toBe(true)
    expect(verifyEntrySignature(genesis, { chainKey: w.chainKey, seq: 1 }, user, w.crypto)).toBe(false)
    expect(verifyEntrySignature(genesis, { chainKey: w.otherChainKey, seq: 0 }, user, w.crypto)).toBe(false)
  })

  it('another key\'s signature, or a signature moved to another entry, fails verification', () => {
    expect(verifyEntrySignature(exam, slot, w.examiners.b.sign.publicKey, w.crypto)).toBe(false)
    const forged = signEntry(unsignedPart(exam), slot, w.examiners.b.sign.secretKey, w.crypto)
    expect(verifyEntrySignature(forged, slot, author, w.crypto)).toBe(false)
    const other = signedExam(w, 1)
    expect(other.id).not.toEqual(exam.id)
    expect(verifyEntrySignature({ ...other, sig: exam.sig }, slot, author, w.crypto)).toBe(false)
  })

  it('the signing message is domain tag, chain key, big-endian position, then the body without the signature', () => {
    const message = entrySigningMessage(unsignedPart(exam), { chainKey: w.chainKey, seq: 0x0102030405 })
    const tag = new TextEncoder().encode('healthchain/v1/entry\0')
    expect(message.subarray(0, tag.length)).toEqual(tag)
    expect(message.subarray(tag.length, tag.length + 32)).toEqual(w.chainKey)
    expect([...message.subarray(tag.length + 32, tag.length + 40)]).toEqual([0, 0, 0, 1, 2, 3, 4, 5])
    const body = message.subarray(tag.length + 40)
    expect(body).toEqual(encodeUnsignedEntry(unsignedPart(exam)))
    // The same message whether asked of the signed or the unsigned entry, and the signature is not in it.
    expect(entrySigningMessage(exam, { chainKey: w.chainKey, seq: 0x0102030405 })).toEqual(message)
    expect(Buffer.from(message).includes(Buffer.from(exam.sig))).toBe(false)
  })

  it('slots are checked: a bad chain key or position is refused, not signed', () => {
    const unsigned = buildUserEntry('location', { points: [{ lat: 1, lon: 2, acc: 3, time: T0 }] }, { time: T0 }, w.crypto)
    expectCode(() => entrySigningMessage(unsigned, { chainKey: w.chainKey.subarray(1), seq: 1 }), 'BAD_KEY', 'chainKey')
    expectCode(() => entrySigningMessage(unsigned, { chainKey: w.chainKey, seq: -1 }), 'INVALID_FIELD')
    expectCode(() => entrySigningMessage(unsigned, { chainKey: w.chainKey, seq: 1.5 }), 'INVALID_FIELD')
    expectCode(() => signEntry(unsigned, { chainKey: w.chainKey, seq: 1 }, w.user.sign.secretKey.subarray(0, 32), w.crypto), 'BAD_KEY', 'secretKey')
  })
})
