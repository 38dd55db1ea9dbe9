/**
 * The rule of a `migrate` entry in a chain: it stands at position N of a
 * continuation core, N being the core's manifest prologue length (the start
 * of a segment: a chain that moved twice holds two), and names exactly that
 * core's history: `from` and `lineage` are the chain's earlier
 * segments, `prologue` the core's prologue hash, and the old custodian's head
 * at N verifies (core's checkMigrate). Its `to` must be an examiner (a role
 * never changes), active in the registry when the entry is appended; stored
 * entries are not judged by a later suspension of their custodian.
 */
import {
  can, checkMigrate, equal, reassignmentProblem,
  type CryptoProvider, type InstitutionRecord, type MigratePlain, type RegistryState
} from '@healthchain/core'
import { migrateProblem, migrateSlotAt, type ChainLayout } from './chain-segments.js'
import { asLedgerError, LedgerError } from './errors.js'

export function checkMigrateOf (
  plain: MigratePlain, seq: number, layout: ChainLayout, registry: RegistryState, crypto: CryptoProvider, appending: boolean
): void {
  const slot = migrateSlotAt(layout, seq)
  if (slot === undefined) {
    throw new LedgerError('INVALID_FIELD', `a migrate stands only where a continuation core's prologue ends, not at ${seq}`, { field: 'plain.length' })
  }
  try {
    checkMigrate(plain, crypto)
  } catch (err) {
    throw asLedgerError(err)
  }
  const problem = migrateProblem(slot.key, slot.prologue, plain)
  if (problem !== undefined) throw new LedgerError('INVALID_FIELD', problem, { field: 'plain.prologue' })
  // The segments before its core: the lineage, then `from` up to N.
  const earlier = slot.earlier
  const named = [...plain.lineage.map((l) => ({ key: l.key, end: l.length })), { key: plain.from, end: plain.length }]
  if (earlier.length !== named.length || earlier.some((s, i) => !equal(s.key, named[i]!.key) || s.end !== named[i]!.end)) {
    throw new LedgerError('INVALID_FIELD', 'the migrate names another history than this chain\'s', { field: 'plain.lineage' })
  }
  const history = registry.historyOf(plain.to)
  if (history.length === 0) throw new LedgerError('UNKNOWN_AUTHOR', `${plain.to} is not in the registry this node has`)
  if (!can(history[0]!.role, 'enrol', 'user')) throw new LedgerError('ROLE_FORBIDDEN', `${plain.to} is a ${history[0]!.role}, which may not hold chains`)
  if (appending && registry.institutionAt(plain.to)?.status !== 'active') {
    throw new LedgerError('AUTHOR_SUSPENDED', `${plain.to} is suspended in the current registry`)
  }
}

const REASSIGNMENT_REFUSALS = {
  none: 'the registry it was signed against holds no reassignment of the chain\'s custodian',
  other: 'the registry reassigned the chain\'s custodian to another examiner',
  author: 'its author is not an active examiner in the registry it was signed against',
  to: 'an examiner may only continue a reassigned chain itself',
  early: 'it is dated before the reassignment\'s notice period ends'
} as const

/**
 * A migrate written by an institution instead of the user: allowed only to
 * the examiner governance reassigned the chain's current custodian to, from
 * the reassignment's `after` on (core's reassignmentProblem), and, when the
 * custodian appends it, not dated in the future (the notice cannot be cut
 * short by the author's clock). Returns the author's record at `reg`, whose
 * key signs the entry.
 */
export function checkReassignedMigrate (
  entry: { readonly author: string, readonly reg?: number, readonly time: number, readonly plain: MigratePlain },
  custodian: string, registry: RegistryState, appending: boolean
): InstitutionRecord {
  const reg = entry.reg ?? 0
  if (reg > registry.length) throw new LedgerError('REGISTRY_BEHIND', `the migrate was signed against registry length ${reg}; this node has ${registry.length}`)
  const problem = reassignmentProblem(registry, { from: custodian, author: entry.author, to: entry.plain.to, time: entry.time, reg })
  if (problem !== undefined) throw new LedgerError('ROLE_FORBIDDEN', `${entry.author} may not move this chain: ${REASSIGNMENT_REFUSALS[problem]}`)
  if (appending && entry.time > Date.now()) throw new LedgerError('INVALID_FIELD', 'the migrate is dated in the future', { field: 'time' })
  return registry.institutionAt(entry.author, reg)!
}
