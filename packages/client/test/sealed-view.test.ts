/**
 * Opening a sealed part as a node's API shows it to the user (the canonical
 * sealed segment, hex): the user's key opens it, in the browser's noble
 * crypto as in sodium; another key, another entry id or a view without an
 * envelope do not.
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex, encodeCanonical, generatePartyKeys, isCoreError, newRecoveryPhrase, nobleProvider, seal, userKeysFromPhrase } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { envelopeOf, openEnvelope } from '../src/user-side.js'

const user = userKeysFromPhrase(newRecoveryPhrase(), sodiumProvider)
const examiner = generatePartyKeys(sodiumProvider)
const chainKey = sodiumProvider.randomBytes(32)
const entryId = sodiumProvider.randomBytes(16)
const payload = { notes: 'follow up in 3 months', observations: [{ code: '2339-0', value: 92, unit: 'mg/dL' }] }
const { sealed } = seal(payload, [user.box.publicKey, examiner.box.publicKey], { chainKey, entryId }, sodiumProvider)
const view = { id: bytesToHex(entryId), sealed: { readable: false as const, envelope: bytesToHex(encodeCanonical(sealed)) } }

describe('openEnvelope', () => {
  it('opens the envelope with the user\'s key, with either crypto provider', () => {
    expect(openEnvelope(view, bytesToHex(chainKey), user, sodiumProvider)).toEqual(payload)
    expect(openEnvelope(view, bytesToHex(chainKey), user, nobleProvider)).toEqual(payload)
    expect(envelopeOf(view)?.to).toHaveLength(2)
  })

  it('refuses a key it was not sealed for, and an envelope moved to another entry', () => {
    const stranger = userKeysFromPhrase(newRecoveryPhrase(), sodiumProvider)
    expect(() => openEnvelope(view, bytesToHex(chainKey), stranger, nobleProvider)).toThrow(expect.objectContaining({ code: 'NOT_RECIPIENT' }))
    const moved = { ...view, id: bytesToHex(sodiumProvider.randomBytes(16)) }
    let caught: unknown
    try { openEnvelope(moved, bytesToHex(chainKey), user, nobleProvider) } catch (err) { caught = err }
    expect(isCoreError(caught)).toBe(true)
  })

  it('gives undefined for a view without an envelope (not sealed, or opened by the node for an examiner)', () => {
    expect(openEnvelope({ id: view.id }, bytesToHex(chainKey), user, nobleProvider)).toBeUndefined()
    expect(openEnvelope({ id: view.id, sealed: { readable: true, data: payload } }, bytesToHex(chainKey), user, nobleProvider)).toBeUndefined()
    expect(openEnvelope({ id: view.id, sealed: { readable: false } }, bytesToHex(chainKey), user, nobleProvider)).toBeUndefined()
  })
})
