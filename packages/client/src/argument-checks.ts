/**
 * Checks of the arguments PhoneClient is given, as INVALID_INPUT naming the
 * field, and against what the device holds (the registry, the verified
 * chain) where that tells a mistake early. The custodian checks the same
 * again: these give a clear error before anything is queued.
 */
import { ERASABLE_TYPES, can, parseInstitutionId, type InstitutionId, type InstitutionRecord, type UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { ClientError, invalidInput } from './errors.js'

/** A node's multiaddr with the peer id the phone expects to reach. */
export function assertNodeAddress (address: unknown, field: string): asserts address is string {
  if (typeof address !== 'string' || !address.startsWith('/') || !address.includes('/p2p/')) {
    throw new ClientError('INVALID_INPUT', `${field}: expected a multiaddr ending in /p2p/<peer id>`, { field })
  }
}

export function assertKey (key: unknown, field: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new ClientError('INVALID_INPUT', `${field}: expected 32 bytes`, { field })
}

export function institutionId (value: string, field: string): InstitutionId {
  try {
    return parseInstitutionId(value, field)
  } catch (err) {
    throw invalidInput(err)
  }
}

/** The peer id a multiaddr ends with (checked by assertNodeAddress). */
export function peerOf (address: string): string {
  return address.slice(address.lastIndexOf('/p2p/') + 5)
}

/** An examiner from the registry this device has: UNKNOWN_EXAMINER, or NOT_AN_EXAMINER (a role that never reads sealed data, or suspended when `active`). */
export function registeredExaminer (ledger: Ledger, value: string, opts: { active: boolean }): InstitutionRecord {
  const id = institutionId(value, 'examiner')
  const record = ledger.hasRegistry ? ledger.registry.state.institutionAt(id) : undefined
  if (record === undefined) throw new ClientError('UNKNOWN_EXAMINER', `the registry this device has names no institution ${id} (sync first)`, { field: 'examiner' })
  if (!can(record.role, 'read', 'sealed') || (opts.active && record.status !== 'active')) {
    throw new ClientError('NOT_AN_EXAMINER', `${id} is not an active examiner, so it may not read sealed data`, { field: 'examiner' })
  }
  return record
}

/** Positions to erase: INVALID_INPUT unless 1 or more; NOT_ERASABLE for a genesis, consent or erasure among those this device has verified. */
export async function assertErasable (ledger: Ledger, user: UserId, seqs: unknown): Promise<void> {
  if (!Array.isArray(seqs) || seqs.length === 0 || seqs.some((s) => !Number.isSafeInteger(s) || s < 1)) {
    throw new ClientError('INVALID_INPUT', 'seqs: expected positions (1 or more) of entries to erase', { field: 'seqs' })
  }
  if (!ledger.hasChain(user)) return
  const chain = await ledger.chain(user)
  for (const seq of seqs as number[]) {
    if (seq >= chain.verifiedLength) continue
    const entry = await chain.get(seq)
    // null: erased already, which an erasure may name again.
    if (entry !== null && !ERASABLE_TYPES.includes(entry.type)) {
      throw new ClientError('NOT_ERASABLE', `position ${seq} is a ${entry.type} entry, which cannot be erased`, { field: 'seqs' })
    }
  }
}
