import { describe, expect, it } from 'vitest'
import {
  DEFAULT_NOTICE_DAYS, decodeEntry, encodeEntry, noticePeriodMs, parseUnsignedEntry, reassignmentAllows, reassignmentProblem,
  nobleProvider as crypto, RegistryState, signEntry, signRegistryEntry, type RegistryEntry, type RegistryEntryType
} from '@healthchain/core'
import { fixedBytes } from './helpers/deterministic-crypto.js'
import { expectCode } from './helpers/expect-code.js'
import { institution, T0 } from './helpers/fixtures.js'

const DAY = 86_400_000
const registryKey = fixedBytes('reassign-test/key')
const governance = crypto.signKeyPairFromSeed(fixedBytes('reassign-test/governance'))
const parties = {
  hospital: institution('hospital', crypto),
  lab: institution('lab', crypto),
  clinic: institution('clinic', crypto),
  agency: institution('agency', crypto)
}

let counter = 0
/** A governance-signed block at `seq`, written at T0 + seq minutes unless `time` says otherwise. */
function block (seq: number, type: RegistryEntryType, plain: Record<string, unknown>, time = T0 + seq * 60_000): RegistryEntry {
  const unsigned = { v: 1 as const, type, id: fixedBytes(`reassign-test/id/${counter++}`, 16), time, plain }
  return signRegistryEntry(unsigned as never, { chainKey: registryKey, seq }, governance.secretKey, crypto)
}

/**
 * consortium(0), admit hospital, lab, clinic as examiners (1–3), agency as inquirer (4), suspend hospital (5), suspend clinic (6).
 * `noticeDays` goes into the consortium entry when given.
 */
function world (noticeDays?: number): RegistryState {
  const state = new RegistryState(registryKey, governance.publicKey)
  state.apply(block(0, 'consortium', { name: 'Test', governance: governance.publicKey, ...(noticeDays === undefined ? {} : { noticeDays }) }), crypto)
  const admit = (seq: number, who: keyof typeof parties, role: string) => {
    const p = parties[who]
    state.apply(block(seq, 'admit', { institution: p.id, name: p.id, role, sign: p.sign.publicKey, box: p.box.publicKey }), crypto)
  }
  admit(1, 'hospital', 'examiner')
  admit(2, 'lab', 'examiner')
  admit(3, 'clinic', 'examiner')
  admit(4, 'agency', 'inquirer')
  state.apply(block(5, 'suspend', { institution: 'hospital' }), crypto)
  state.apply(block(6, 'suspend', { institution: 'clinic' }), crypto)
  return state
}
const SEQ = 7
const TIME = T0 + SEQ * 60_000
const reassign = (plain: Record<string, unknown>, seq = SEQ, time = T0 + seq * 60_000) =>
  block(seq, 'reassign', { institution: 'hospital', to: 'lab', after: time + 30 * DAY, ...plain }, time)

function refuses (state: RegistryState, entry: RegistryEntry): void {
  const before = { length: state.length, reassignments: state.reassignments() }
  expectCode(() => state.check(entry, crypto), 'REGISTRY_CONFLICT')
  expectCode(() => state.apply(entry, crypto), 'REGISTRY_CONFLICT')
  expect({ length: state.length, reassignments: state.reassignments() }).toEqual(before)
}

describe('the registry\'s reassign entry', () => {
  it('records a suspended custodian\'s reassignment to another active examiner, answerable at every length', () => {
    const state = world()
    expect(state.noticePeriod).toBe(DEFAULT_NOTICE_DAYS * DAY)
    state.apply(reassign({}), crypto)
    const expected = { institution: 'hospital', to: 'lab', after: TIME + 30 * DAY, since: SEQ }
    expect(state.reassignmentOf('hospital')).toEqual(expected)
    expect(state.reassignmentOf('hospital', SEQ)).toBeUndefined()
    expect(state.reassignmentOf('hospital', SEQ + 1)).toEqual(expected)
    expect(state.reassignments()).toEqual([expected])
    expect(state.reassignmentOf('clinic')).toBeUndefined()
    // The institution itself is unchanged: a reassignment is not a state of it.
    expect(state.historyOf('hospital').map((r) => r.status)).toEqual(['active', 'suspended'])
  })

  it('a reinstatement cancels the reassignment from its position on; a later reassign replaces an earlier one', () => {
    const state = world()
    state.apply(reassign({}), crypto)
    state.apply(block(SEQ + 1, 'reinstate', { institution: 'hospital' }), crypto)
    expect(state.reassignmentOf('hospital')).toBeUndefined()
    expect(state.reassignmentOf('hospital', SEQ + 1)?.to).toBe('lab')
    expect(state.reassignments()).toEqual([])
    state.apply(block(SEQ + 2, 'suspend', { institution: 'hospital' }), crypto)
    // Suspended again, the old reassignment does not come back.
    expect(state.reassignmentOf('hospital')).toBeUndefined()
    state.apply(block(SEQ + 3, 'reinstate', { institution: 'clinic' }), crypto)
    state.apply(reassign({}, SEQ + 4), crypto)
    state.apply(reassign({ to: 'clinic' }, SEQ + 5), crypto)
    expect(state.reassignmentOf('hospital')).toMatchObject({ to: 'clinic', since: SEQ + 5 })
    expect(state.reassignmentOf('hospital', SEQ + 5)).toMatchObject({ to: 'lab', since: SEQ + 4 })
  })

  describe('refuses, leaving the state unchanged (REGISTRY_CONFLICT)', () => {
    it('the reassignment of an active institution', () => refuses(world(), reassign({ institution: 'agency' })))
    it('the reassignment of an institution the registry does not list', () => refuses(world(), reassign({ institution: 'nobody' })))
    it('a reassignment to a suspended examiner', () => refuses(world(), reassign({ to: 'clinic' })))
    it('a reassignment to an institution that is not an examiner', () => refuses(world(), reassign({ to: 'agency' })))
    it('a reassignment to an institution the registry does not list', () => refuses(world(), reassign({ to: 'nobody' })))
    it('a reassignment to the institution itself', () => refuses(world(), reassign({ to: 'hospital' })))
    it('an `after` less than the notice period after the entry\'s time', () => refuses(world(), reassign({ after: TIME + 30 * DAY - 1 })))
    it('an `after` within the consortium\'s own, longer notice period', () => {
      const state = world(60)
      expect(state.noticePeriod).toBe(noticePeriodMs(60))
      refuses(state, reassign({ after: TIME + 60 * DAY - 1 }))
      state.apply(reassign({ after: TIME + 60 * DAY }), crypto)
    })
    it('a consortium\'s shorter notice period is honoured', () => {
      const state = world(7)
      state.apply(reassign({ after: TIME + 7 * DAY }), crypto)
      expect(state.reassignmentOf('hospital')?.after).toBe(TIME + 7 * DAY)
    })
  })

  it('the schema refuses a notice period of 0 days and a reassign without `after`', () => {
    expectCode(() => block(0, 'consortium', { name: 'Test', governance: governance.publicKey, noticeDays: 0 }), 'INVALID_FIELD', 'plain.noticeDays')
    expectCode(() => block(SEQ, 'reassign', { institution: 'hospital', to: 'lab' }), 'INVALID_FIELD', 'plain.after')
  })
})

describe('reassignmentProblem: may an institution write the migrate of a chain?', () => {
  const after = TIME + 30 * DAY
  /** The world with hospital reassigned to lab at SEQ, then lab suspended at SEQ + 1. */
  const state = world()
  state.apply(reassign({}), crypto)
  state.apply(block(SEQ + 1, 'suspend', { institution: 'lab' }), crypto)
  const migrate = (over: Partial<{ from: string, author: string, to: string, time: number, reg: number }> = {}) =>
    ({ from: 'hospital', author: 'lab', to: 'lab', time: after, reg: SEQ + 1, ...over })

  it('the examiner named, from `after` on, signing against a registry that holds the reassignment', () => {
    expect(reassignmentProblem(state, migrate())).toBeUndefined()
    expect(reassignmentAllows(state, migrate({ time: after + DAY }))).toBe(true)
  })
  it('not before `after`', () => {
    expect(reassignmentProblem(state, migrate({ time: after - 1 }))).toBe('early')
  })
  it('not another institution', () => {
    expect(reassignmentProblem(state, migrate({ author: 'clinic', to: 'clinic' }))).toBe('other')
  })
  it('not to a third custodian: the examiner named continues the chain itself', () => {
    expect(reassignmentProblem(state, migrate({ to: 'clinic' }))).toBe('to')
  })
  it('not from another custodian, nor against a registry length before the reassignment or beyond the registry', () => {
    expect(reassignmentProblem(state, migrate({ from: 'clinic' }))).toBe('none')
    expect(reassignmentProblem(state, migrate({ reg: SEQ }))).toBe('none')
    expect(reassignmentProblem(state, migrate({ reg: state.length + 1 }))).toBe('none')
    expect(reassignmentAllows(state, migrate({ reg: SEQ }))).toBe(false)
  })
  it('not once the examiner named is suspended itself', () => {
    expect(reassignmentProblem(state, migrate({ reg: SEQ + 2 }))).toBe('author')
  })
  it('not once the custodian is reinstated', () => {
    const reinstated = world()
    reinstated.apply(reassign({}), crypto)
    reinstated.apply(block(SEQ + 1, 'reinstate', { institution: 'hospital' }), crypto)
    expect(reassignmentProblem(reinstated, migrate({ reg: SEQ + 1 }))).toBeUndefined()
    expect(reassignmentProblem(reinstated, migrate({ reg: SEQ + 2 }))).toBe('none')
  })
})

describe('a migrate written by an institution', () => {
  const plain = {
    from: fixedBytes('reassign-test/old-chain'),
    length: 5,
    fork: 0,
    prologue: fixedBytes('reassign-test/prologue'),
    signer: fixedBytes('reassign-test/signer'),
    headSig: new Uint8Array(64).fill(3),
    to: 'lab',
    lineage: []
  }
  const unsigned = { v: 1, type: 'migrate', id: fixedBytes('reassign-test/migrate', 16), time: T0, author: 'lab', reg: SEQ + 1, plain }

  it('decodes with `reg`, as one by the user does without', () => {
    const signed = signEntry(parseUnsignedEntry(unsigned), { chainKey: fixedBytes('reassign-test/chain'), seq: 5 }, parties.lab.sign.secretKey, crypto)
    expect(decodeEntry(encodeEntry(signed))).toMatchObject({ author: 'lab', reg: SEQ + 1 })
    const { reg: _reg, ...byUser } = { ...unsigned, author: 'user' }
    expect(parseUnsignedEntry(byUser).author).toBe('user')
  })
  it('is refused without `reg`, and the user\'s with one', () => {
    const { reg: _reg, ...withoutReg } = unsigned
    expectCode(() => parseUnsignedEntry(withoutReg), 'INVALID_FIELD', 'reg')
    expectCode(() => parseUnsignedEntry({ ...unsigned, author: 'user' }), 'INVALID_FIELD', 'reg')
    expectCode(() => parseUnsignedEntry({ ...unsigned, author: 'Lab Two' }), 'INVALID_FIELD', 'author')
  })
})
