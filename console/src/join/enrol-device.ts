/**
 * The patient's device enrols itself with the code the hospital gave: a new
 * recovery phrase and the keys from it are made here, the chain key is
 * asked for with the code (which binds the ticket to this user id), the
 * genesis is built and signed here, and sent with the same code. The phrase
 * and the secret keys never leave this tab, and are never stored.
 */
import { bytesToHex, encodeEntry, fromHex, newRecoveryPhrase, type InstitutionId, type UserKeys } from '@healthchain/core'
import { buildEnrolmentGenesis } from '@healthchain/client/user-side'
import { chainKeyReplySchema, chainSummarySchema, normaliseEnrolmentCode, type ChainSummary } from '@healthchain/node/api'
import { ApiFailure, isApiFailure, request } from '../api.js'
import { crypto } from '../crypto.js'
import { keysFromPhrase } from '../node-api.js'

export interface PreparedEnrolment {
  /** The code in its canonical form, XXXX-XXXX-XXXX. */
  readonly code: string
  readonly phrase: string
  readonly user: UserKeys
  readonly chainKey: Uint8Array
  readonly custodian: InstitutionId
}

/** The code as typed, canonical; BAD_CODE in words when it cannot be one. */
export function parseCode (input: string): string {
  const code = normaliseEnrolmentCode(input.trim())
  if (code === undefined) throw new ApiFailure('BAD_CODE', 'A code has 12 letters and digits, like 7KQ2-M9XD-4HNA. Check what you typed.', 0)
  return code
}

/** A new phrase and keys, and the chain key the hospital gives them with this code. */
export async function prepareEnrolment (input: string): Promise<PreparedEnrolment> {
  const code = parseCode(input)
  const phrase = newRecoveryPhrase()
  const user = keysFromPhrase(phrase)
  try {
    const reply = await request('POST', `/v1/enrolments/${encodeURIComponent(code)}/chain-key`, chainKeyReplySchema, { body: { userId: user.userId } })
    if (reply.userId !== user.userId) throw new ApiFailure('BAD_RESPONSE', 'The node answered for another user. Ask the staff for a new code.', 0)
    return { code, phrase, user, chainKey: fromHex(reply.chainKey, 32, 'chainKey'), custodian: reply.custodian as InstitutionId }
  } catch (err) {
    throw inPlainWords(err)
  }
}

/** Signs the genesis here and enrols with the code: the record exists once this returns. */
export async function completeEnrolment (prepared: PreparedEnrolment): Promise<ChainSummary> {
  // The genesis commits to generation 1's keys (from the same phrase), so the patient can renew their keys later.
  const genesis = buildEnrolmentGenesis(prepared.user, prepared.custodian, prepared.chainKey, crypto, { next: keysFromPhrase(prepared.phrase, 1) })
  try {
    const summary = await request('POST', `/v1/enrolments/${encodeURIComponent(prepared.code)}`, chainSummarySchema, {
      body: { genesis: bytesToHex(encodeEntry(genesis)) }
    })
    if (summary.userId !== prepared.user.userId) throw new ApiFailure('BAD_RESPONSE', 'The node enrolled another user. Ask the staff for help.', 0)
    return summary
  } catch (err) {
    throw inPlainWords(err)
  }
}

/** The hand-over's refusals, said to a patient. */
export function inPlainWords (err: unknown): unknown {
  if (!isApiFailure(err)) return err
  switch (err.code) {
    case 'UNKNOWN_TICKET':
      return new ApiFailure(err.code,
        'This code opens nothing: it may be mistyped, already used, or expired (a code lasts 15 minutes). ' +
        'Check it, or ask the staff for a new one.', err.status)
    case 'TICKET_TAKEN':
      return new ApiFailure(err.code, 'This code has already been used on another device. Ask the staff for a new code.', err.status)
    case 'BAD_REQUEST':
      return new ApiFailure(err.code, 'A code has 12 letters and digits, like 7KQ2-M9XD-4HNA. Check what you typed.', err.status)
    case 'RATE_LIMITED':
      return new ApiFailure(err.code, 'Too many tries from this device. Wait a minute and try again.', err.status)
    default:
      return err
  }
}
