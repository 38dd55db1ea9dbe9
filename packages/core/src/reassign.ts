/**
 * Reassignment: what becomes of the chains of a suspended custodian whose
 * users do not move them themselves.
 *
 * Governance signs a registry entry
 *
 *   reassign { institution: the suspended custodian, to: an examiner, after: ms since epoch }
 *
 * which the registry accepts only while `institution` is suspended, `to` is
 * another, active examiner, and `after` leaves the users at least the
 * consortium's notice period (its `noticeDays`, 30 days when the consortium
 * entry does not say) from the entry's own time to move by their own migrate.
 * A later `reinstate` of the institution cancels it; a later `reassign`
 * replaces it. Every phone verifies the registry, so every user sees it.
 *
 * From `after` on, `to` may write the migrate that continues such a chain
 * itself (author = its id, `reg` = the registry length it signs against).
 * `reassignmentProblem` is the check the chain rules make for such an entry.
 */
import { z } from 'zod'
import type { InstitutionId } from './ids.js'
import { institutionIdSchema, timeSchema, uintSchema } from './schema.js'

export const DEFAULT_NOTICE_DAYS = 30
export const MAX_NOTICE_DAYS = 3650
const DAY_MS = 86_400_000

/** The consortium entry's optional notice period, in whole days. */
export const noticeDaysSchema = uintSchema.min(1).max(MAX_NOTICE_DAYS)

export const reassignPlainSchema = z.strictObject({
  /** The suspended custodian whose chains are reassigned. */
  institution: institutionIdSchema,
  /** The examiner that may continue them. */
  to: institutionIdSchema,
  /** From this time (ms since epoch) on; at least the notice period after the entry's own time. */
  after: timeSchema
})
export type ReassignPlain = z.infer<typeof reassignPlainSchema>

/** The notice period in milliseconds for a consortium's `noticeDays` (undefined: the default). */
export function noticePeriodMs (noticeDays: number | undefined): number {
  return (noticeDays ?? DEFAULT_NOTICE_DAYS) * DAY_MS
}

/** A reassignment in force: the registry's `reassign` entry at `since`, not cancelled by a reinstatement before the length asked about. */
export interface Reassignment {
  readonly institution: InstitutionId
  readonly to: InstitutionId
  readonly after: number
  /** Registry position of the reassign entry. */
  readonly since: number
}

/** What reassignmentProblem needs of a RegistryState. */
export interface ReassignmentView {
  readonly length: number
  reassignmentOf (institution: string, length?: number): Reassignment | undefined
  institutionAt (id: string, length?: number): { readonly role: string, readonly status: 'active' | 'suspended' } | undefined
}

export interface InstitutionMigrate {
  /** The chain's custodian before the migrate (its genesis or latest migrate names it). */
  readonly from: string
  /** The migrate's author. */
  readonly author: string
  /** The migrate's new custodian (`plain.to`): the author itself, which may not hand the chain on to a third. */
  readonly to: string
  /** The migrate's time. */
  readonly time: number
  /** The registry length the author signed against (the entry's `reg`). */
  readonly reg: number
}

/**
 * Why a migrate authored by an institution is not allowed, or undefined when
 * it is: the registry at `reg` must hold a reassignment of `from` to the
 * author (`none` / `other`), the author must still be an active examiner
 * there (`author`), the chain must move to the author itself (`to`), and
 * the entry's time must not be before `after` (`early`). `reg` beyond the registry's length is `none`: the author cannot
 * sign against entries nobody has.
 */
export type ReassignmentProblem = 'none' | 'other' | 'author' | 'to' | 'early'

export function reassignmentProblem (registry: ReassignmentView, migrate: InstitutionMigrate): ReassignmentProblem | undefined {
  if (migrate.reg > registry.length) return 'none'
  const reassignment = registry.reassignmentOf(migrate.from, migrate.reg)
  if (reassignment === undefined) return 'none'
  if (reassignment.to !== migrate.author) return 'other'
  const author = registry.institutionAt(migrate.author, migrate.reg)
  if (author === undefined || author.status !== 'active' || author.role !== 'examiner') return 'author'
  if (migrate.to !== migrate.author) return 'to'
  if (migrate.time < reassignment.after) return 'early'
  return undefined
}

/** Whether the registry lets `author` write the migrate that takes a chain from `from` (reassignmentProblem finds nothing). */
export function reassignmentAllows (registry: ReassignmentView, migrate: InstitutionMigrate): boolean {
  return reassignmentProblem(registry, migrate) === undefined
}
