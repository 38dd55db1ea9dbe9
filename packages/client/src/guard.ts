/**
 * What a user may write (the permission table): exercise, location, consent and
 * erasure entries, plain only, authored as `user`. Checked on the device
 * before anything is queued or sent, with the permission table core keeps;
 * the custodian checks the same again (ChainRules), so this is a courtesy
 * and an early, clear error — not the protection.
 */
import { USER_AUTHOR, can, isUserAuthored, parseUnsignedEntry, type UnsignedEntry } from '@healthchain/core'
import { ClientError, invalidInput } from './errors.js'

/** The types a user writes after the genesis (the genesis is `buildEnrolment`'s). */
export const USER_WRITABLE_TYPES = ['exercise', 'location', 'consent', 'erasure'] as const

/** Refuses anything a user may not write (ROLE_FORBIDDEN, SEALED_FORBIDDEN) and validates the rest (INVALID_INPUT). */
export function assertUserWritable (value: unknown): UnsignedEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClientError('INVALID_INPUT', 'entry: expected an unsigned entry', { field: 'entry' })
  }
  const candidate = value as Record<string, unknown>
  const type = candidate.type
  if (typeof type !== 'string' || !(USER_WRITABLE_TYPES as readonly string[]).includes(type)) {
    // A known type the user may not write is a refusal; anything else is simply not an entry type.
    const forbidden = typeof type === 'string' && ['genesis', 'exam'].includes(type)
    throw new ClientError(forbidden ? 'ROLE_FORBIDDEN' : 'INVALID_INPUT',
      forbidden ? `a user may not write ${type} entries` : `type: expected one of ${USER_WRITABLE_TYPES.join(', ')}`, { field: 'type' })
  }
  if ('sealed' in candidate && candidate.sealed !== undefined) {
    throw new ClientError('SEALED_FORBIDDEN', 'a user never writes a sealed segment: sealed data comes from examiners', { field: 'sealed' })
  }
  if (candidate.author !== USER_AUTHOR) throw new ClientError('ROLE_FORBIDDEN', 'author: the user\'s entries are authored as "user"', { field: 'author' })
  if ('sig' in candidate) throw new ClientError('INVALID_INPUT', 'sig: give the unsigned entry; the client signs it for the position it takes', { field: 'sig' })
  let entry: UnsignedEntry
  try {
    entry = parseUnsignedEntry(candidate)
  } catch (err) {
    throw invalidInput(err)
  }
  // The permission table is the one source of who writes what; the checks above only explain a refusal early.
  if (!isUserAuthored(entry.type) || !can('user', 'write', entry.type)) throw new ClientError('ROLE_FORBIDDEN', `a user may not write ${entry.type} entries`, { field: 'type' })
  return entry
}
