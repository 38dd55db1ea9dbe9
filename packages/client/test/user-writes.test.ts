/**
 * What a user writes, the same for the phone and the HTTP path: grants
 * carry at most REWRAP_KEYS_PER_GRANT re-wrapped keys each (exactly at the
 * limit one grant, one over two), every key opens for the examiner, a full
 * grant fits a block, and core's refusals come out as INVALID_INPUT.
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_ENTRY_BYTES, encodeEntry, generatePartyKeys, newRecoveryPhrase, openWithDataKey, seal, unwrapDataKey, userKeysFromPhrase,
  type ConsentPlain, type InstitutionId, type UnsignedEntry
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import {
  REWRAP_KEYS_PER_GRANT, buildErasureEntry, buildExerciseEntry, buildGrantEntries, buildRevokeEntry, grantChunks, signUserEntry,
  type SealedPast
} from '../src/index.js'
import { refusal } from './refusal.js'

const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
const examiner = generatePartyKeys(crypto)
const other = generatePartyKeys(crypto)
const chainKey = crypto.randomBytes(32)
const HOSPITAL_B = 'hospital-b' as InstitutionId

/** `count` exams' sealed segments at positions 1…count, sealed for the user (and `to`, if given) only. */
function sealedHistory (count: number, recipients: Uint8Array[] = [user.box.publicKey]): SealedPast[] {
  return Array.from({ length: count }, (_, i) => {
    const id = crypto.randomBytes(16)
    const { sealed } = seal({ notes: `exam ${i + 1}` }, recipients, { chainKey, entryId: id }, crypto)
    return { seq: i + 1, id, sealed }
  })
}

function grantOf (entry: UnsignedEntry): Extract<ConsentPlain, { action: 'grant' }> {
  const plain = entry.plain as ConsentPlain
  if (entry.type !== 'consent' || plain.action !== 'grant') throw new Error('expected a grant')
  return plain
}

describe('grant chunking', () => {
  it('is one part exactly at the limit, two one over, and one empty part for no history', () => {
    const items = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
    expect(grantChunks(items(0))).toEqual([[]])
    expect(grantChunks(items(1)).map((c) => c.length)).toEqual([1])
    expect(grantChunks(items(REWRAP_KEYS_PER_GRANT)).map((c) => c.length)).toEqual([REWRAP_KEYS_PER_GRANT])
    expect(grantChunks(items(REWRAP_KEYS_PER_GRANT + 1)).map((c) => c.length)).toEqual([REWRAP_KEYS_PER_GRANT, 1])
    expect(grantChunks(items(2 * REWRAP_KEYS_PER_GRANT)).map((c) => c.length)).toEqual([REWRAP_KEYS_PER_GRANT, REWRAP_KEYS_PER_GRANT])
    // Order is kept: the parts concatenated are the input.
    expect(grantChunks(items(2500)).flat()).toEqual(items(2500))
  })

  it('the figure is core\'s schema limit for one grant', () => {
    expect(REWRAP_KEYS_PER_GRANT).toBe(1000)
  })
})

describe('buildGrantEntries', () => {
  const input = { examiner: HOSPITAL_B, examinerBox: examiner.box.publicKey, chainKey, userBox: user.box }

  it('exactly at the limit: one grant carrying every key, each of which the examiner opens', () => {
    const history = sealedHistory(REWRAP_KEYS_PER_GRANT)
    const { entries, rewrapped } = buildGrantEntries({ ...input, history }, crypto)
    expect(rewrapped).toBe(REWRAP_KEYS_PER_GRANT)
    expect(entries).toHaveLength(1)
    const grant = grantOf(entries[0]!)
    expect(grant.examiner).toBe(HOSPITAL_B)
    expect(grant.rewrap?.keys.map((k) => k.seq)).toEqual(history.map((h) => h.seq))
    for (const [i, past] of history.entries()) {
      const ctx = { chainKey, entryId: past.id }
      const dataKey = unwrapDataKey(grant.rewrap!.keys[i]!.wrap, grant.rewrap!.epk, examiner.box, ctx, crypto)
      expect(dataKey).not.toBeNull()
      expect(openWithDataKey(past.sealed, dataKey!, ctx, crypto)).toEqual({ notes: `exam ${i + 1}` })
    }
    // Bound to the examiner: another institution's key opens none of them.
    expect(unwrapDataKey(grant.rewrap!.keys[0]!.wrap, grant.rewrap!.epk, other.box, { chainKey, entryId: history[0]!.id }, crypto)).toBeNull()
  })

  it('one over the limit: two grants, in order, each with its own ephemeral key', () => {
    const history = sealedHistory(REWRAP_KEYS_PER_GRANT + 1)
    const { entries, rewrapped } = buildGrantEntries({ ...input, history, until: Date.parse('2100-01-01T00:00:00Z') }, crypto)
    expect(rewrapped).toBe(REWRAP_KEYS_PER_GRANT + 1)
    expect(entries.map((e) => grantOf(e).rewrap?.keys.length)).toEqual([REWRAP_KEYS_PER_GRANT, 1])
    expect(grantOf(entries[1]!).rewrap?.keys[0]?.seq).toBe(REWRAP_KEYS_PER_GRANT + 1)
    expect(grantOf(entries[0]!).rewrap?.epk).not.toEqual(grantOf(entries[1]!).rewrap?.epk)
    expect(entries.map((e) => grantOf(e).until)).toEqual([Date.parse('2100-01-01T00:00:00Z'), Date.parse('2100-01-01T00:00:00Z')])
    expect(new Set(entries.map((e) => Buffer.from(e.id).toString('hex'))).size).toBe(2)
  })

  it('no history: one grant without re-wrapped keys; entries the user cannot open are left out', () => {
    expect(buildGrantEntries({ ...input, history: [] }, crypto).entries.map((e) => grantOf(e).rewrap)).toEqual([undefined])
    const notForUser = sealedHistory(2, [other.box.publicKey])
    const { entries, rewrapped } = buildGrantEntries({ ...input, history: notForUser }, crypto)
    expect(rewrapped).toBe(0)
    expect(entries.map((e) => grantOf(e).rewrap)).toEqual([undefined])
  })

  it('a full grant fits one block, even with the largest positions', () => {
    const history = sealedHistory(REWRAP_KEYS_PER_GRANT).map((h, i) => ({ ...h, seq: Number.MAX_SAFE_INTEGER - REWRAP_KEYS_PER_GRANT + i }))
    const { entries } = buildGrantEntries({ ...input, history, until: Date.parse('2100-01-01T00:00:00Z') }, crypto)
    const signed = signUserEntry(entries[0]!, user, { chainKey, seq: Number.MAX_SAFE_INTEGER }, crypto)
    expect(encodeEntry(signed).length).toBeLessThan(MAX_ENTRY_BYTES)
  })
})

describe('the other builders', () => {
  it('refuse what core refuses as INVALID_INPUT, naming the field', () => {
    const erasure = refusal(() => buildErasureEntry([], crypto))
    expect(erasure.code).toBe('INVALID_INPUT')
    expect(erasure.field).toBe('plain.entries')
    const exercise = refusal(() => buildExerciseEntry({ start: 2, end: 1, observations: [] } as never, crypto))
    expect(exercise.code).toBe('INVALID_INPUT')
    expect(exercise.field).toMatch(/^plain/)
  })

  it('build user-authored entries with fresh ids', () => {
    const revoke = buildRevokeEntry(HOSPITAL_B, crypto)
    expect(revoke).toMatchObject({ type: 'consent', author: 'user', plain: { action: 'revoke', examiner: HOSPITAL_B } })
    const erasure = buildErasureEntry([5, 3, 5], crypto)
    expect(erasure).toMatchObject({ type: 'erasure', author: 'user', plain: { entries: [3, 5] } })
    expect(revoke.id).not.toEqual(erasure.id)
  })
})
