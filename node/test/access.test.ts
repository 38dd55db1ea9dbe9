/**
 * The one access rule every read goes through (services/access.ts): a role
 * that reads plain segments, a user only their own chain, a chain held here.
 */
import { describe, expect, it } from 'vitest'
import type { UserId } from '@healthchain/core'
import { createAccessPolicy } from '../src/index.js'

const alice = 'a'.repeat(32) as UserId
const bob = 'b'.repeat(32) as UserId
const opened: UserId[] = []
const ledger = {
  hasChain: (user: UserId) => user === alice,
  chain: async (user: UserId) => { opened.push(user); return { userId: user } as never }
} as never
const access = createAccessPolicy({ ledger })

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('the access policy', () => {
  it('lets every reading role read a held chain, a user only their own', async () => {
    for (const role of ['examiner', 'inquirer', 'regulator'] as const) {
      expect(access.readableUser({ role, subject: 'k1' }, alice)).toBe(alice)
    }
    expect(access.readableUser({ role: 'user', subject: alice }, alice)).toBe(alice)
    expect(codeOf(() => access.readableUser({ role: 'user', subject: alice }, bob))).toBe('FORBIDDEN')
    await expect(access.readableChain({ role: 'user', subject: bob }, alice)).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect(opened).toEqual([])
    await access.readableChain({ role: 'regulator', subject: 'k1' }, alice)
    expect(opened).toEqual([alice])
  })

  it('refuses a chain not held here as UNKNOWN_CHAIN, after the caller\'s own checks', () => {
    expect(codeOf(() => access.readableUser({ role: 'examiner', subject: 'k1' }, bob))).toBe('UNKNOWN_CHAIN')
    expect(codeOf(() => access.checkHeld(bob))).toBe('UNKNOWN_CHAIN')
    // A user asking about someone else learns nothing of whether that chain is held.
    expect(codeOf(() => access.readableUser({ role: 'user', subject: alice }, bob))).toBe('FORBIDDEN')
  })
})
