/**
 * The user's keys as a chain's entries change them: the genesis names
 * generation 0 and may commit to generation 1 (`next`); each rekey reveals
 * the committed keys and commits to the following ones. The user id stays
 * generation 0's: it names the person, not the key in force.
 */
import { checkRekey, userIdFromKey, type GenesisPlain, type InstitutionId, type RekeyPlain, type UserId } from '@healthchain/core'
import { asLedgerError, LedgerError } from './errors.js'

export interface ChainUser {
  /** Generation 0's id (userIdFromKey of the genesis key). */
  readonly userId: UserId
  /** The sign key in force: the user's entries from here on must be signed by it. */
  readonly sign: Uint8Array
  /** The box key in force: new seals go to it. */
  readonly box: Uint8Array
  /** 0 from the genesis; each rekey adds one. */
  readonly generation: number
  /** The commitment to the next generation's keys; undefined when the genesis made none (the chain cannot rekey). */
  readonly next: Uint8Array | undefined
  /** The institution holding the chain's writing key: the genesis's, then each migrate's `to`. */
  readonly custodian: InstitutionId
}

export function userOfGenesis (plain: GenesisPlain): ChainUser {
  const { user, custodian, next } = plain
  return { userId: userIdFromKey(user.sign), sign: user.sign, box: user.box, generation: 0, next, custodian: custodian as InstitutionId }
}

/**
 * Throws unless `plain` may rekey `user`: the chain committed to next keys
 * (BAD_KEY, field `plain.next`, when it did not), the generation is the next
 * one (INVALID_FIELD, field `plain.generation`), and the revealed keys hash
 * to the commitment (BAD_KEY, field `plain.sign`).
 */
export function checkRekeyOf (user: ChainUser, plain: RekeyPlain): void {
  if (user.next === undefined) throw new LedgerError('BAD_KEY', 'the chain committed to no next keys, so it cannot rekey', { field: 'plain.next' })
  if (plain.generation !== user.generation + 1) {
    throw new LedgerError('INVALID_FIELD', `plain.generation: expected ${user.generation + 1}, got ${plain.generation}`, { field: 'plain.generation' })
  }
  try {
    checkRekey(user.next, plain)
  } catch (err) {
    throw asLedgerError(err)
  }
}

export function userAfterRekey (user: ChainUser, plain: RekeyPlain): ChainUser {
  return { ...user, sign: plain.sign, box: plain.box, generation: plain.generation, next: plain.next }
}
