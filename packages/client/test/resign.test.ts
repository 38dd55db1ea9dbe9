/**
 * The signed-send loop both user paths share (the phone over libp2p, the
 * CLI over HTTP): a stale position is re-signed for the chain's new length
 * with the same entry id, it gives up after MAX_RESIGNS with a typed error,
 * and any other refusal passes through unchanged.
 */
import { describe, expect, it } from 'vitest'
import { buildUserEntry, newRecoveryPhrase, userKeysFromPhrase, verifyEntrySignature, type Entry } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { ClientError, MAX_RESIGNS, sendSigned, signUserEntry, type SendAnswer } from '../src/index.js'

const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
const chainKey = crypto.randomBytes(32)
const unsigned = buildUserEntry('location', { points: [{ lat: 52.52, lon: 13.405, acc: 8, time: Date.parse('2025-01-01T07:30:00Z') }] }, {}, crypto)

interface Sent { readonly seq: number, readonly entry: Entry }

/** A custodian whose answers are scripted; it records what was sent and how often the length was read. */
function scripted (length: number, answers: Array<(sent: Sent) => SendAnswer<string>>): {
  steps: Parameters<typeof sendSigned<string>>[0], sent: Sent[], lengthReads: () => number
} {
  const sent: Sent[] = []
  let reads = 0
  return {
    sent,
    lengthReads: () => reads,
    steps: {
      length: async () => { reads++; return length },
      sign: (seq) => signUserEntry(unsigned, user, { chainKey, seq }, crypto),
      send: async (entry, seq) => {
        const answer = answers[sent.length]
        sent.push({ seq, entry })
        if (answer === undefined) throw new Error('no more answers scripted')
        return answer({ seq, entry })
      }
    }
  }
}

const accept = (sent: Sent): SendAnswer<string> => ({ accepted: `appended at ${sent.seq}` })

describe('sendSigned', () => {
  it('signs for the length it reads and sends once when the position is free', async () => {
    const s = scripted(4, [accept])
    await expect(sendSigned(s.steps)).resolves.toBe('appended at 4')
    expect(s.sent.map((x) => x.seq)).toEqual([4])
    expect(verifyEntrySignature(s.sent[0]!.entry, { chainKey, seq: 4 }, user.sign.publicKey, crypto)).toBe(true)
    expect(s.lengthReads()).toBe(1)
  })

  it('succeeds after one stale answer: re-signed for the length the custodian gave, same entry id', async () => {
    const s = scripted(4, [() => ({ stale: true, length: 6 }), accept])
    await expect(sendSigned(s.steps)).resolves.toBe('appended at 6')
    expect(s.sent.map((x) => x.seq)).toEqual([4, 6])
    expect(s.sent[1]!.entry.id).toEqual(s.sent[0]!.entry.id)
    expect(verifyEntrySignature(s.sent[1]!.entry, { chainKey, seq: 6 }, user.sign.publicKey, crypto)).toBe(true)
    expect(verifyEntrySignature(s.sent[1]!.entry, { chainKey, seq: 4 }, user.sign.publicKey, crypto)).toBe(false)
    // The answer said the length: no second read.
    expect(s.lengthReads()).toBe(1)
  })

  it('reads the length again when a stale answer does not say it', async () => {
    let length = 4
    const s = scripted(0, [() => { length = 7; return { stale: true } }, accept])
    const steps = { ...s.steps, length: async () => length }
    await expect(sendSigned(steps)).resolves.toBe('appended at 7')
    expect(s.sent.map((x) => x.seq)).toEqual([4, 7])
  })

  it(`gives up after ${MAX_RESIGNS} re-signs with REFUSED (remoteCode STALE_POSITION), the last refusal as its cause`, async () => {
    const last = new Error('the last stale answer')
    const answers = Array.from({ length: MAX_RESIGNS + 1 }, (_, i) => (sent: Sent): SendAnswer<string> =>
      ({ stale: true, length: sent.seq + 1, ...(i === MAX_RESIGNS ? { cause: last } : {}) }))
    const s = scripted(1, answers)
    const err = await sendSigned(s.steps).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect(err).toMatchObject({ code: 'REFUSED', remoteCode: 'STALE_POSITION' })
    expect((err as ClientError).cause).toBe(last)
    expect(s.sent.map((x) => x.seq)).toEqual(Array.from({ length: MAX_RESIGNS + 1 }, (_, i) => 1 + i))
  })

  it('honours a smaller number of re-signs (none: the first stale answer is final)', async () => {
    const s = scripted(3, [() => ({ stale: true, length: 4 }), accept])
    await expect(sendSigned(s.steps, { maxResigns: 0 })).rejects.toMatchObject({ code: 'REFUSED', remoteCode: 'STALE_POSITION' })
    expect(s.sent).toHaveLength(1)
  })

  it('passes any other refusal through unchanged, without re-signing', async () => {
    const refusal = Object.assign(new Error('the custodian refused the entry (CONSENT_VIOLATION)'), { code: 'REFUSED', remoteCode: 'CONSENT_VIOLATION' })
    const s = scripted(2, [() => { throw refusal }])
    await expect(sendSigned(s.steps)).rejects.toBe(refusal)
    expect(s.sent).toHaveLength(1)
    // A failure to read the length, or to sign, is the caller's too.
    const unreadable = new Error('no chain here')
    await expect(sendSigned({ ...s.steps, length: async () => { throw unreadable } })).rejects.toBe(unreadable)
  })
})
