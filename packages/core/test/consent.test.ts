import { describe, expect, it } from 'vitest'
import { buildGrant, buildRevoke, ConsentState, nobleProvider, signEntry, type EntryOf, type InstitutionId } from '@healthchain/core'
import { T0, world } from './helpers/fixtures.js'

const w = world(nobleProvider, 'consent')
const A = w.examiners.a.id
const B = w.examiners.b.id
const DAY = 86_400_000

function grant (seq: number, examiner: InstitutionId, until?: number): EntryOf<'consent'> {
  const box = examiner === A ? w.examiners.a.box.publicKey : w.examiners.b.box.publicKey
  const unsigned = buildGrant({
    examiner, examinerBox: box, chainKey: w.chainKey, userBox: w.user.box, time: T0 + seq, ...(until === undefined ? {} : { until })
  }, w.crypto)
  return signEntry(unsigned, { chainKey: w.chainKey, seq }, w.user.sign.secretKey, w.crypto) as EntryOf<'consent'>
}

function revoke (seq: number, examiner: InstitutionId): EntryOf<'consent'> {
  return signEntry(buildRevoke(examiner, { time: T0 + seq }, w.crypto), { chainKey: w.chainKey, seq }, w.user.sign.secretKey, w.crypto) as EntryOf<'consent'>
}

describe('ConsentState', () => {
  it('starts with no grants', () => {
    const state = new ConsentState()
    expect(state.isGranted(A, T0)).toBe(false)
    expect(state.active(T0)).toEqual([])
  })

  it('a grant without `until` is in force at any later time, and names its position', () => {
    const state = new ConsentState()
    state.apply(grant(3, A), 3)
    expect(state.isGranted(A, T0)).toBe(true)
    expect(state.isGranted(A, T0 + 100 * 365 * DAY)).toBe(true)
    expect(state.isGranted(B, T0)).toBe(false)
    expect(state.active(T0)).toEqual([{ examiner: A, since: 3, until: undefined }])
  })

  it('`until` is exclusive: in force up to the millisecond before, not at it', () => {
    const until = T0 + 30 * DAY
    const state = new ConsentState()
    state.apply(grant(2, A, until), 2)
    expect(state.isGranted(A, until - 1)).toBe(true)
    expect(state.isGranted(A, until)).toBe(false)
    expect(state.isGranted(A, until + 1)).toBe(false)
    expect(state.active(until - 1).map((g) => g.examiner)).toEqual([A])
    expect(state.active(until)).toEqual([])
  })

  it('revoke ends a grant; revoking one examiner leaves the others', () => {
    const state = new ConsentState()
    state.apply(grant(2, A), 2)
    state.apply(grant(3, B), 3)
    state.apply(revoke(4, A), 4)
    expect(state.isGranted(A, T0)).toBe(false)
    expect(state.isGranted(B, T0)).toBe(true)
    expect(state.active(T0).map((g) => g.examiner)).toEqual([B])
  })

  it('revoking an examiner that holds no grant changes nothing', () => {
    const state = new ConsentState()
    state.apply(grant(2, B), 2)
    state.apply(revoke(3, A), 3)
    expect(state.active(T0)).toEqual([{ examiner: B, since: 2, until: undefined }])
  })

  it('a re-grant after a revoke is in force again, from its own position', () => {
    const state = new ConsentState()
    state.apply(grant(2, A), 2)
    state.apply(revoke(5, A), 5)
    state.apply(grant(9, A, T0 + DAY), 9)
    expect(state.isGranted(A, T0)).toBe(true)
    expect(state.active(T0)).toEqual([{ examiner: A, since: 9, until: T0 + DAY }])
  })

  it('a later grant replaces the earlier one\'s expiry, both ways', () => {
    const state = new ConsentState()
    state.apply(grant(2, A, T0 + DAY), 2)
    state.apply(grant(3, A), 3)
    expect(state.isGranted(A, T0 + 10 * DAY)).toBe(true)
    state.apply(grant(4, A, T0 + DAY), 4)
    expect(state.isGranted(A, T0 + 10 * DAY)).toBe(false)
    expect(state.active(T0)).toHaveLength(1)
  })

  it('an expired grant can be renewed by a new grant', () => {
    const state = new ConsentState()
    state.apply(grant(2, A, T0 + DAY), 2)
    expect(state.isGranted(A, T0 + 2 * DAY)).toBe(false)
    state.apply(grant(3, A, T0 + 3 * DAY), 3)
    expect(state.isGranted(A, T0 + 2 * DAY)).toBe(true)
  })

  it('snapshot restores the grants as they were', () => {
    const state = new ConsentState()
    state.apply(grant(2, A), 2)
    const restore = state.snapshot()
    state.apply(revoke(3, A), 3)
    state.apply(grant(4, B), 4)
    restore()
    expect(state.active(T0)).toEqual([{ examiner: A, since: 2, until: undefined }])
  })
})
