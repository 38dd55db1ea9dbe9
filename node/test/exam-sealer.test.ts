/**
 * The daemon's exam sealer: sealing on a worker thread gives a segment the
 * recipients open exactly as one sealed inline, and a refusal raised in the
 * worker reaches the caller as the same CoreError (code and field).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { CoreError, generatePartyKeys, isRecipient, openSealed, type ExamSealed } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { createExamSealer, type ExamSealer, type SealJob } from '../src/sealing/exam-sealer.js'

const user = generatePartyKeys(crypto)
const examiner = generatePartyKeys(crypto)
const outsider = generatePartyKeys(crypto)
const payload: ExamSealed = { notes: 'fasting glucose slightly high; retest in three months' }
const ctx = { chainKey: new Uint8Array(32).fill(7), entryId: new Uint8Array(16).fill(9) }
const job: SealJob = { payload, recipients: [user.box.publicKey, examiner.box.publicKey], ctx }

const onWorkers = createExamSealer(crypto, 1)
const inline = createExamSealer(crypto, 0)
afterAll(async () => {
  await onWorkers.close()
  await inline.close()
})

describe.each([['a worker thread', onWorkers], ['the calling thread', inline]] as Array<[string, ExamSealer]>)('sealing on %s', (_, sealer) => {
  it('gives a segment that the user and the examiner open, and no one else', async () => {
    const sealed = await sealer.seal(job)
    expect(isRecipient(sealed, user.box.publicKey)).toBe(true)
    expect(isRecipient(sealed, examiner.box.publicKey)).toBe(true)
    expect(openSealed(sealed, user.box, ctx, crypto)).toEqual(payload)
    expect(openSealed(sealed, examiner.box, ctx, crypto)).toEqual(payload)
    expect(() => openSealed(sealed, outsider.box, ctx, crypto)).toThrow(expect.objectContaining({ code: 'NOT_RECIPIENT' }))
    // Bound to its chain and entry: moved to another entry id, it no longer opens.
    expect(() => openSealed(sealed, user.box, { ...ctx, entryId: new Uint8Array(16) }, crypto)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }))
  })

  it('refuses a payload outside the schema and a bad recipient key with CoreError, code and field', async () => {
    const badPayload = sealer.seal({ ...job, payload: { notes: 42 } as unknown as ExamSealed })
    await expect(badPayload).rejects.toBeInstanceOf(CoreError)
    await expect(badPayload).rejects.toMatchObject({ code: 'INVALID_FIELD' })
    const badKey = sealer.seal({ ...job, recipients: [new Uint8Array(31)] })
    await expect(badKey).rejects.toBeInstanceOf(CoreError)
    await expect(badKey).rejects.toMatchObject({ code: 'BAD_KEY', field: 'recipient' })
    const none = sealer.seal({ ...job, recipients: [] })
    await expect(none).rejects.toMatchObject({ code: 'INVALID_FIELD', field: 'sealed.to' })
  })
})

describe('the worker sealer', () => {
  it('refuses work once closed, with a clear error', async () => {
    const sealer = createExamSealer(crypto, 1)
    await sealer.seal(job)
    await sealer.close()
    await expect(sealer.seal(job)).rejects.toThrow('sealing pool closed')
  })
})
