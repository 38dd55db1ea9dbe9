import { describe, expect, it } from 'vitest'
import {
  generatePartyKeys, newRecoveryPhrase, nobleProvider, parseChainKey, parseInstitutionId, parseUserId, userIdFromKey,
  userKeysFromPhrase, isInstitutionId
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { hex } from './helpers/tagged-json.js'

const PHRASE = 'letter advice cage absurd amount doctor acoustic avoid letter advice cage above'

function summary (keys: ReturnType<typeof userKeysFromPhrase>) {
  return {
    sign: hex(keys.sign.publicKey), secret: hex(keys.sign.secretKey), box: hex(keys.box.publicKey), boxSecret: hex(keys.box.secretKey), userId: keys.userId
  }
}

describe('user keys from a recovery phrase', () => {
  it('the same phrase gives the same keys, whatever the spacing and case', () => {
    const reference = summary(userKeysFromPhrase(PHRASE, nobleProvider))
    const variants = [
      `  ${PHRASE}  `,
      PHRASE.toUpperCase(),
      PHRASE.split(' ').join('   '),
      PHRASE.split(' ').join('\n'),
      `\t${PHRASE.split(' ').map((w, i) => i % 2 === 0 ? w.toUpperCase() : w).join(' \t ')}\r\n`
    ]
    for (const variant of variants) expect(summary(userKeysFromPhrase(variant, nobleProvider))).toEqual(reference)
  })

  it('both providers derive identical keys', () => {
    for (let i = 0; i < 5; i++) {
      const phrase = newRecoveryPhrase()
      expect(summary(userKeysFromPhrase(phrase, sodiumProvider))).toEqual(summary(userKeysFromPhrase(phrase, nobleProvider)))
    }
  })

  it('keys have their sizes, the secret key embeds the public key, and the ids follow', () => {
    for (const crypto of PROVIDERS) {
      const keys = userKeysFromPhrase(PHRASE, crypto)
      expect(keys.sign.publicKey).toHaveLength(32)
      expect(keys.sign.secretKey).toHaveLength(64)
      expect(keys.sign.secretKey.subarray(32)).toEqual(keys.sign.publicKey)
      expect(keys.box.secretKey).toHaveLength(32)
      expect(keys.box.publicKey).toEqual(crypto.x25519PublicKey(keys.box.secretKey))
      expect(keys.userId).toBe(userIdFromKey(keys.sign.publicKey))
      expect(parseUserId(keys.userId)).toBe(keys.userId)
      expect(keys.userId).toMatch(/^[a-z2-7]{32}$/)
      // The signing and box keys are derived apart.
      expect(keys.box.secretKey).not.toEqual(keys.sign.secretKey.subarray(0, 32))
    }
  })

  it('different phrases give different keys', () => {
    const a = userKeysFromPhrase(newRecoveryPhrase(), nobleProvider)
    const b = userKeysFromPhrase(newRecoveryPhrase(), nobleProvider)
    expect(a.userId).not.toBe(b.userId)
    expect(a.box.publicKey).not.toEqual(b.box.publicKey)
  })

  it('a new phrase is 24 valid English words', () => {
    const phrase = newRecoveryPhrase()
    expect(phrase.split(' ')).toHaveLength(24)
    expect(() => userKeysFromPhrase(phrase, nobleProvider)).not.toThrow()
  })

  it.each([
    ['a bad checksum', 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon'],
    ['a word not on the list', PHRASE.replace('doctor', 'doktor')],
    ['11 words', PHRASE.split(' ').slice(0, 11).join(' ')],
    ['13 words', `${PHRASE} abandon`],
    ['an empty phrase', ''],
    ['only spaces', '   '],
    ['words run together', PHRASE.replace(' ', '')],
    ['a non-English wordlist phrase', 'ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco ábaco abierto']
  ])('refuses %s with BAD_MNEMONIC', (_name, phrase) => {
    for (const crypto of PROVIDERS) expectCode(() => userKeysFromPhrase(phrase, crypto), 'BAD_MNEMONIC')
  })
})

describe('institution keys', () => {
  it('are fresh, well-formed key pairs under both providers', () => {
    for (const crypto of PROVIDERS) {
      const a = generatePartyKeys(crypto)
      const b = generatePartyKeys(crypto)
      expect(a.sign.publicKey).toHaveLength(32)
      expect(a.sign.secretKey.subarray(32)).toEqual(a.sign.publicKey)
      expect(a.box.publicKey).toEqual(nobleProvider.x25519PublicKey(a.box.secretKey))
      expect(a.sign.publicKey).not.toEqual(b.sign.publicKey)
      expect(a.box.secretKey).not.toEqual(b.box.secretKey)
      const message = new Uint8Array([1, 2, 3])
      expect(nobleProvider.verify(message, crypto.sign(message, a.sign.secretKey), a.sign.publicKey)).toBe(true)
    }
  })
})

describe('identifiers', () => {
  it('institution ids: lowercase letters, digits and inner dashes, 3–64 characters, never "user"', () => {
    for (const ok of ['abc', 'st-mary-hospital', 'a1b', 'x'.repeat(64), 'lab-2']) expect(parseInstitutionId(ok)).toBe(ok)
    for (const bad of ['ab', 'x'.repeat(65), 'user', 'St-Mary', '-abc', 'abc-', '1abc', 'a_b', 'a b', '', 7, null]) {
      expect(isInstitutionId(bad)).toBe(false)
      expectCode(() => parseInstitutionId(bad, 'author'), 'INVALID_FIELD', 'author')
    }
  })

  it('user ids are exactly 32 base32 characters', () => {
    const id = userIdFromKey(new Uint8Array(32))
    expect(parseUserId(id)).toBe(id)
    for (const bad of [id.toUpperCase(), id.slice(1), `${id}a`, id.replace(/./, '1'), 42]) expectCode(() => parseUserId(bad), 'INVALID_FIELD', 'userId')
  })

  it('chain keys are 32 bytes of hex', () => {
    const key = 'AB'.repeat(32)
    expect(parseChainKey(key)).toEqual(new Uint8Array(32).fill(0xab))
    for (const bad of ['ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), 123]) expectCode(() => parseChainKey(bad, 'key'), 'INVALID_FIELD', 'key')
  })
})
