/**
 * The permission table, checked cell by cell against an expectation written
 * out by hand from the roles' table (not derived from PERMISSIONS):
 *
 * | role      | reads plain     | reads sealed                | writes                                          |
 * |-----------|-----------------|-----------------------------|-------------------------------------------------|
 * | user      | own chain       | own chain                   | exercise, location, consent, erasure, migrate, rekey (own chain) |
 * | examiner  | enrolled chains | only entries it receives    | exam; enrols users                              |
 * | inquirer  | yes             | never                       | nothing                                         |
 * | regulator | yes             | never                       | nothing                                         |
 *
 * Plus the chain's rule "Block 0 is the genesis: … signed by the user", so the
 * user writes `genesis` on its own chain. Every chain is an enrolled user's,
 * so an examiner's plain reads carry no further condition ('any'). The user
 * alone moves its chain to a new custodian (`migrate`) and rotates its own
 * keys (`rekey`), so a custodian can neither keep nor hijack a chain.
 */
import { describe, expect, it } from 'vitest'
import { can, conditionOf, ENTRY_TYPES, INSTITUTION_ROLES, isRole, PERMISSIONS, ROLES, type Action, type Condition, type Role, type Target } from '@healthchain/core'

const EXPECTED: Record<Role, Partial<Record<`${Action}:${Target}`, Condition>>> = {
  user: {
    'read:plain': 'own-chain',
    'read:sealed': 'own-chain',
    'write:genesis': 'own-chain',
    'write:exercise': 'own-chain',
    'write:location': 'own-chain',
    'write:consent': 'own-chain',
    'write:erasure': 'own-chain',
    'write:migrate': 'own-chain',
    'write:rekey': 'own-chain'
  },
  examiner: {
    'read:plain': 'any',
    'read:sealed': 'recipient',
    'write:exam': 'any',
    'enrol:user': 'any'
  },
  inquirer: {
    'read:plain': 'any'
  },
  regulator: {
    'read:plain': 'any'
  }
}

const ACTIONS: readonly Action[] = ['read', 'write', 'enrol']
const TARGETS: readonly Target[] = ['plain', 'sealed', ...ENTRY_TYPES, 'user']

const cells = ROLES.flatMap((role) => ACTIONS.flatMap((action) => TARGETS.map((target) => {
  const condition = EXPECTED[role][`${action}:${target}`]
  return [role, action, target, condition ?? 'refused'] as const
})))

describe('permission table of the roles', () => {
  it('the roles are exactly the four of the design', () => {
    expect([...ROLES].sort()).toEqual(['examiner', 'inquirer', 'regulator', 'user'])
    expect([...INSTITUTION_ROLES].sort()).toEqual(['examiner', 'inquirer', 'regulator'])
    expect(ROLES.every(isRole)).toBe(true)
    for (const notARole of ['governance', 'admin', 'User', '', undefined, 1]) expect(isRole(notARole)).toBe(false)
  })

  it(`has ${ROLES.length * ACTIONS.length * TARGETS.length} cells, ${cells.filter((c) => c[3] !== 'refused').length} allowed`, () => {
    expect(cells).toHaveLength(4 * 3 * 11)
    expect(cells.filter((c) => c[3] !== 'refused')).toHaveLength(15)
  })

  it.each(cells)('%s %s %s → %s', (role, action, target, expected) => {
    if (expected === 'refused') {
      expect(can(role, action, target)).toBe(false)
      expect(conditionOf(role, action, target)).toBeUndefined()
    } else {
      expect(can(role, action, target)).toBe(true)
      expect(conditionOf(role, action, target)).toBe(expected)
    }
  })

  it('inquirers and regulators never read sealed data and never write', () => {
    for (const role of ['inquirer', 'regulator'] as const) {
      expect(can(role, 'read', 'sealed')).toBe(false)
      for (const target of TARGETS) {
        expect(can(role, 'write', target)).toBe(false)
        expect(can(role, 'enrol', target)).toBe(false)
      }
    }
  })

  it('only the examiner writes exams; only the user writes its own entries', () => {
    expect(ROLES.filter((r) => can(r, 'write', 'exam'))).toEqual(['examiner'])
    for (const type of ['genesis', 'exercise', 'location', 'consent', 'erasure', 'migrate', 'rekey'] as const) {
      expect(ROLES.filter((r) => can(r, 'write', type))).toEqual(['user'])
    }
  })

  it('PERMISSIONS holds no row outside the design and cannot be changed at run time', () => {
    for (const row of PERMISSIONS) expect(EXPECTED[row.role][`${row.action}:${row.target}`]).toBe(row.condition)
    expect(Object.isFrozen(PERMISSIONS)).toBe(true)
    expect(PERMISSIONS.every((row) => Object.isFrozen(row))).toBe(true)
    expect(() => { (PERMISSIONS as PermissionsMutable).push({ role: 'inquirer', action: 'read', target: 'sealed', condition: 'any' }) }).toThrow(TypeError)
    expect(can('inquirer', 'read', 'sealed')).toBe(false)
  })
})

type PermissionsMutable = Array<{ role: Role, action: Action, target: Target, condition: Condition }>
