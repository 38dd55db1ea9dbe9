/**
 * The permission table of the roles (user, examiner, inquirer, regulator), as data. The HTTP API and every
 * replica consult `can()`; nothing else decides who may do what.
 *
 * A row can carry a condition the caller must still check against the data
 * (whose chain, whether the reader is a recipient): `can()` answers whether
 * the role may do it at all, `conditionOf()` says what remains to check.
 */
import type { EntryType } from './entry.js'

export const ROLES = ['user', 'examiner', 'inquirer', 'regulator'] as const
export type Role = typeof ROLES[number]
/** Institution roles are the ones the registry admits. */
export const INSTITUTION_ROLES = ['examiner', 'inquirer', 'regulator'] as const
export type InstitutionRole = typeof INSTITUTION_ROLES[number]

export type Segment = 'plain' | 'sealed'
export type Action = 'read' | 'write' | 'enrol'
/** What an action applies to: a segment for reads, an entry type for writes, a user for enrolment. */
export type Target = Segment | EntryType | 'user'

export type Condition =
  /** No further check. */
  | 'any'
  /** Only on the user's own chain. */
  | 'own-chain'
  /** Only entries whose sealed segment names the reader as a recipient. */
  | 'recipient'

export interface PermissionRow {
  readonly role: Role
  readonly action: Action
  readonly target: Target
  readonly condition: Condition
}

export const PERMISSIONS: readonly PermissionRow[] = Object.freeze([
  { role: 'user', action: 'read', target: 'plain', condition: 'own-chain' },
  { role: 'user', action: 'read', target: 'sealed', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'genesis', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'exercise', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'location', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'consent', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'erasure', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'migrate', condition: 'own-chain' },
  { role: 'user', action: 'write', target: 'rekey', condition: 'own-chain' },
  { role: 'examiner', action: 'read', target: 'plain', condition: 'any' },
  { role: 'examiner', action: 'read', target: 'sealed', condition: 'recipient' },
  { role: 'examiner', action: 'write', target: 'exam', condition: 'any' },
  { role: 'examiner', action: 'enrol', target: 'user', condition: 'any' },
  { role: 'inquirer', action: 'read', target: 'plain', condition: 'any' },
  { role: 'regulator', action: 'read', target: 'plain', condition: 'any' }
].map((row) => Object.freeze(row as PermissionRow)))

export function isRole (value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/** The table by role, action and target (the first row of each, as a scan would find it): rules ask for every entry they check. */
const CONDITIONS = new Map<string, Condition>()
for (const row of PERMISSIONS) {
  const key = `${row.role} ${row.action} ${row.target}`
  if (!CONDITIONS.has(key)) CONDITIONS.set(key, row.condition)
}

export function conditionOf (role: Role, action: Action, target: Target): Condition | undefined {
  return CONDITIONS.get(`${role} ${action} ${target}`)
}

/** Whether `role` may perform `action` on `target` at all (see `conditionOf` for what is left to check). */
export function can (role: Role, action: Action, target: Target): boolean {
  return conditionOf(role, action, target) !== undefined
}
