/**
 * Sealed segments: only recipients open them; any change to the ciphertext,
 * nonce, ephemeral key or a wrap is detected; a segment or a wrapped key
 * moved to another entry or chain does not open; consent grants hand past
 * data keys to a newly trusted examiner.
 */
import { describe, expect, it } from 'vitest'
import {
  buildExam, buildGrant, buildUserEntry, isRecipient, nobleProvider, openSealed, openWithDataKey, recoverDataKey, seal,
  signEntry, unwrapDataKey, type Entry, type EntryOf, type Sealed
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { fixedBytes } from './helpers/deterministic-crypto.js'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'
import { EXAM_PLAIN, EXAM_SEALED, institution, signedExam, T0, world } from './helpers/fixtures.js'

function flipByte (bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice()
  out[index]! ^= 0x01
  return out
}

describe.each(PROVIDERS)('sealing under $name', (base) => {
  const w = world(base, 'seal')
  const { crypto, user, chainKey } = w
  const { a, b, c } = w.examiners
  const exam = signedExam(w, 1)
  const sealed = exam.sealed!
  const ctx = { chainKey, entryId: exam.id }

  it('every recipient opens it to the sealed payload', () => {
    for (const box of [user.box, a.box, b.box]) {
      expect(isRecipient(sealed, box.publicKey)).toBe(true)
      expect(openSealed(sealed, box, ctx, crypto)).toEqual(EXAM_SEALED)
    }
    expect(sealed.to.map((r) => r.key)).toEqual([user.box.publicKey, a.box.publicKey, b.box.publicKey])
  })

  it('the other provider opens it too', () => {
    const other = base === nobleProvider ? sodiumProvider : nobleProvider
    expect(openSealed(sealed, user.box, ctx, other)).toEqual(EXAM_SEALED)
  })

  it('a non-recipient cannot open it (NOT_RECIPIENT)', () => {
    expect(isRecipient(sealed, c.box.publicKey)).toBe(false)
    expectCode(() => openSealed(sealed, c.box, ctx, crypto), 'NOT_RECIPIENT')
    expectCode(() => recoverDataKey(sealed, c.box, ctx, crypto), 'NOT_RECIPIENT')
  })

  it('claiming a recipient\'s public key without its secret key fails (DECRYPT_FAILED)', () => {
    expectCode(() => openSealed(sealed, { publicKey: a.box.publicKey, secretKey: c.box.secretKey }, ctx, crypto), 'DECRYPT_FAILED')
  })

  it('a tampered ciphertext, at any byte, gives DECRYPT_FAILED', () => {
    for (let i = 0; i < sealed.ct.length; i += 7) {
      expectCode(() => openSealed({ ...sealed, ct: flipByte(sealed.ct, i) }, user.box, ctx, crypto), 'DECRYPT_FAILED')
    }
    expectCode(() => openSealed({ ...sealed, ct: sealed.ct.subarray(0, sealed.ct.length - 1) }, user.box, ctx, crypto), 'DECRYPT_FAILED')
  })

  it('a tampered nonce gives DECRYPT_FAILED', () => {
    for (let i = 0; i < 24; i++) {
      expectCode(() => openSealed({ ...sealed, nonce: flipByte(sealed.nonce, i) }, user.box, ctx, crypto), 'DECRYPT_FAILED')
    }
  })

  it('a tampered wrap or ephemeral key gives DECRYPT_FAILED', () => {
    for (let i = 0; i < 48; i += 3) {
      const to = sealed.to.map((r, j) => j === 0 ? { ...r, wrap: flipByte(r.wrap, i) } : r)
      expectCode(() => openSealed({ ...sealed, to }, user.box, ctx, crypto), 'DECRYPT_FAILED')
    }
    for (let i = 0; i < 32; i += 3) {
      expectCode(() => openSealed({ ...sealed, epk: flipByte(sealed.epk, i) }, user.box, ctx, crypto), 'DECRYPT_FAILED')
    }
    // An ephemeral key of small order (all zeros) is refused, not used.
    expectCode(() => openSealed({ ...sealed, epk: new Uint8Array(32) }, user.box, ctx, crypto), 'DECRYPT_FAILED')
  })

  it('a wrap moved to another recipient\'s slot gives DECRYPT_FAILED', () => {
    const to = [{ key: user.box.publicKey, wrap: sealed.to[1]!.wrap }, ...sealed.to.slice(1)]
    expectCode(() => openSealed({ ...sealed, to }, user.box, ctx, crypto), 'DECRYPT_FAILED')
  })

  it('a sealed segment moved to another entry id or another chain does not open', () => {
    const otherId = fixedBytes('seal/other-id', 16)
    expectCode(() => openSealed(sealed, user.box, { chainKey, entryId: otherId }, crypto), 'DECRYPT_FAILED')
    expectCode(() => openSealed(sealed, user.box, { chainKey: w.otherChainKey, entryId: exam.id }, crypto), 'DECRYPT_FAILED')
    // Even with the right data key, the ciphertext is bound to chain and entry.
    const dataKey = recoverDataKey(sealed, user.box, ctx, crypto)
    expect(openWithDataKey(sealed, dataKey, ctx, crypto)).toEqual(EXAM_SEALED)
    expectCode(() => openWithDataKey(sealed, dataKey, { chainKey, entryId: otherId }, crypto), 'DECRYPT_FAILED')
    expectCode(() => openWithDataKey(sealed, dataKey, { chainKey: w.otherChainKey, entryId: exam.id }, crypto), 'DECRYPT_FAILED')
  })

  it('grafted into another exam entry, it fails to open there', () => {
    const other = signedExam(w, 2)
    const graft = { ...other, sealed } as Entry
    expectCode(() => openSealed(graft.sealed!, user.box, { chainKey, entryId: graft.id }, crypto), 'DECRYPT_FAILED')
  })

  it('duplicates in recipients are removed, first occurrence kept', () => {
    const recipients = [user.box.publicKey, a.box.publicKey, user.box.publicKey.slice(), a.box.publicKey, b.box.publicKey, user.box.publicKey]
    const { sealed: s } = seal(EXAM_SEALED, recipients, ctx, crypto)
    expect(s.to.map((r) => r.key)).toEqual([user.box.publicKey, a.box.publicKey, b.box.publicKey])
    for (const box of [user.box, a.box, b.box]) expect(openSealed(s, box, ctx, crypto)).toEqual(EXAM_SEALED)
  })

  it('every seal draws a fresh data key, nonce and ephemeral key', () => {
    const one = seal(EXAM_SEALED, [user.box.publicKey], ctx, crypto)
    const two = seal(EXAM_SEALED, [user.box.publicKey], ctx, crypto)
    expect(one.dataKey).not.toEqual(two.dataKey)
    expect(one.sealed.nonce).not.toEqual(two.sealed.nonce)
    expect(one.sealed.epk).not.toEqual(two.sealed.epk)
    expect(one.sealed.ct).not.toEqual(two.sealed.ct)
    expect(recoverDataKey(one.sealed, user.box, ctx, crypto)).toEqual(one.dataKey)
  })

  it('refuses bad recipients and payloads', () => {
    expectCode(() => seal(EXAM_SEALED, [], ctx, crypto), 'INVALID_FIELD', 'sealed.to')
    expectCode(() => seal(EXAM_SEALED, [user.box.publicKey.subarray(1)], ctx, crypto), 'BAD_KEY', 'recipient')
    // A small-order recipient key would make the wrap key guessable.
    expectCode(() => seal(EXAM_SEALED, [new Uint8Array(32)], ctx, crypto), 'BAD_KEY')
    expectCode(() => seal({ notes: 'bell\u0007' }, [user.box.publicKey], ctx, crypto), 'INVALID_FIELD', 'sealed.notes')
    expectCode(() => seal({ observations: [{ code: 'nope', value: 1 }] }, [user.box.publicKey], ctx, crypto), 'INVALID_FIELD', 'sealed.observations.0.code')
    expectCode(() => seal({ extra: 1 } as never, [user.box.publicKey], ctx, crypto), 'INVALID_FIELD', 'sealed.extra')
    expectCode(() => seal(EXAM_SEALED, [user.box.publicKey], { chainKey, entryId: exam.id.subarray(1) }, crypto), 'BAD_KEY', 'entryId')
  })

  it('an exam may name at most 64 distinct recipients', () => {
    const boxes = Array.from({ length: 65 }, (_, i) => crypto.x25519PublicKey(fixedBytes(`seal/many/${i}`)))
    const input = { author: a.id, reg: 2, time: T0, plain: EXAM_PLAIN, sealed: EXAM_SEALED, chainKey }
    expect(buildExam({ ...input, recipients: boxes.slice(0, 64) }, crypto).sealed!.to).toHaveLength(64)
    expectCode(() => buildExam({ ...input, recipients: boxes }, crypto), 'INVALID_FIELD', 'sealed.to')
  })

  describe('consent grants with history', () => {
    const exam2 = signedExam(w, 3, { sealed: { notes: 'second' }, recipients: [user.box.publicKey, a.box.publicKey] })
    const exercise = signEntry(buildUserEntry('exercise', { start: T0, end: T0 + 1, observations: [{ code: '55423-8', value: 10 }] }, { time: T0 }, crypto), { chainKey, seq: 2 }, user.sign.secretKey, crypto)
    const history = [{ seq: 1, entry: exam }, { seq: 2, entry: exercise }, { seq: 3, entry: exam2 }]
    const grant = buildGrant({ examiner: c.id, examinerBox: c.box.publicKey, history, chainKey, userBox: user.box, time: T0 + 5 }, crypto) as EntryOf<'consent'>
    const plain = grant.plain as Extract<EntryOf<'consent'>['plain'], { action: 'grant' }>

    it('re-wrap the sealed entries\' data keys (and only those) for the new examiner', () => {
      expect(plain.rewrap?.to).toEqual(c.box.publicKey)
      expect(plain.rewrap?.keys.map((k) => k.seq)).toEqual([1, 3])
    })

    it('let the new examiner open past entries it was never a recipient of', () => {
      for (const [seq, entry, payload] of [[1, exam, EXAM_SEALED], [3, exam2, { notes: 'second' }]] as const) {
        const entryCtx = { chainKey, entryId: entry.id }
        expectCode(() => openSealed(entry.sealed!, c.box, entryCtx, crypto), 'NOT_RECIPIENT')
        const wrap = plain.rewrap!.keys.find((k) => k.seq === seq)!.wrap
        const dataKey = unwrapDataKey(wrap, plain.rewrap!.epk, c.box, entryCtx, crypto)
        expect(dataKey).not.toBeNull()
        expect(openWithDataKey(entry.sealed!, dataKey!, entryCtx, crypto)).toEqual(payload)
      }
    })

    it('the re-wrapped keys open for nobody else, and not for another entry or chain', () => {
      const wrap = plain.rewrap!.keys[0]!.wrap
      const epk = plain.rewrap!.epk
      expect(unwrapDataKey(wrap, epk, a.box, { chainKey, entryId: exam.id }, crypto)).toBeNull()
      expect(unwrapDataKey(wrap, epk, c.box, { chainKey, entryId: exam2.id }, crypto)).toBeNull()
      expect(unwrapDataKey(wrap, epk, c.box, { chainKey: w.otherChainKey, entryId: exam.id }, crypto)).toBeNull()
    })

    it('a grant without sealed history carries no rewrap', () => {
      const bare = buildGrant({ examiner: c.id, examinerBox: c.box.publicKey, history: [{ seq: 2, entry: exercise }], chainKey, userBox: user.box }, crypto) as EntryOf<'consent'>
      expect('rewrap' in bare.plain).toBe(false)
    })

    it('a user who is not a recipient of a past entry cannot re-wrap it (NOT_RECIPIENT)', () => {
      const notForUser = signedExam(w, 4, { recipients: [a.box.publicKey] })
      expectCode(() => buildGrant({ examiner: c.id, examinerBox: c.box.publicKey, history: [{ seq: 4, entry: notForUser }], chainKey, userBox: user.box }, crypto), 'NOT_RECIPIENT')
    })

    it('a grant to a small-order key is refused (BAD_KEY)', () => {
      expectCode(() => buildGrant({ examiner: c.id, examinerBox: new Uint8Array(32), history, chainKey, userBox: user.box }, crypto), 'BAD_KEY')
    })
  })

  it('sealing and opening agree across providers for a fresh examiner', () => {
    const fresh = institution('seal-fresh', crypto)
    const { sealed: s } = seal(EXAM_SEALED, [fresh.box.publicKey], ctx, nobleProvider)
    expect(openSealed(s as Sealed, fresh.box, ctx, sodiumProvider)).toEqual(EXAM_SEALED)
    const { sealed: s2 } = seal(EXAM_SEALED, [fresh.box.publicKey], ctx, sodiumProvider)
    expect(openSealed(s2, fresh.box, ctx, nobleProvider)).toEqual(EXAM_SEALED)
  })
})
