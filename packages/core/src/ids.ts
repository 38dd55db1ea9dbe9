/**
 * Identifiers. Branded strings so a UserId can never be passed where an
 * InstitutionId is expected.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { base32nopad } from '@scure/base'
import { CoreError } from './errors.js'
import { concatBytes, domainTag, fromHex } from './bytes.js'

export type UserId = string & { readonly __brand: 'UserId' }
export type InstitutionId = string & { readonly __brand: 'InstitutionId' }

const USER_ID_DOMAIN = domainTag('healthchain/v1/user-id')
const USER_ID_PATTERN = /^[a-z2-7]{32}$/
const INSTITUTION_ID_PATTERN = /^[a-z][a-z0-9-]{1,62}[a-z0-9]$/

/** The author name reserved for the chain's own user; never an institution id. */
export const USER_AUTHOR = 'user'

/**
 * A user's id: base32 (lowercase, no padding) of the first 20 bytes of
 * SHA-256(domain || Ed25519 public key). 32 characters, derived, never chosen.
 */
export function userIdFromKey (signPublicKey: Uint8Array): UserId {
  const digest = sha256(concatBytes(USER_ID_DOMAIN, signPublicKey)).subarray(0, 20)
  return base32nopad.encode(digest).toLowerCase() as UserId
}

/** Whether `value` has a user id's shape (32 base32 characters); parseUserId is the throwing form. */
export function isUserId (value: unknown): value is UserId {
  return typeof value === 'string' && USER_ID_PATTERN.test(value)
}

export function parseUserId (value: unknown, field = 'userId'): UserId {
  if (!isUserId(value)) {
    throw new CoreError('INVALID_FIELD', `${field}: expected a 32-character user id`, { field })
  }
  return value as UserId
}

/** Institution ids are chosen at admission: lowercase letters, digits and dashes, 3–64 characters. */
export function isInstitutionId (value: unknown): value is InstitutionId {
  return typeof value === 'string' && INSTITUTION_ID_PATTERN.test(value) && value !== USER_AUTHOR
}

export function parseInstitutionId (value: unknown, field = 'institution'): InstitutionId {
  if (!isInstitutionId(value)) {
    throw new CoreError('INVALID_FIELD', `${field}: expected an institution id (a-z, 0-9, '-', 3-64 characters)`, { field })
  }
  return value
}

export function parseChainKey (value: unknown, field = 'chainKey'): Uint8Array {
  return fromHex(value as string, 32, field)
}
