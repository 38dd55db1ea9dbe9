/** Bearer tokens: issue, verify, expiry on an injected clock, forgery, revocation, the memory cap. */
import { describe, expect, it } from 'vitest'
import { TokenStore, type Principal } from '../src/index.js'
import { expectCode, fakeClock } from './helpers/fixtures.js'

const staff: Principal = { kind: 'staff', subject: '0123456789abcdef', role: 'examiner' }
const TTL = 15 * 60 * 1000

describe('token store', () => {
  it('issues a token that verifies to its principal until it expires', () => {
    const clock = fakeClock()
    const tokens = new TokenStore({ ttlMs: TTL, now: clock.now })
    const { token, expiresAt } = tokens.issue(staff)
    expect(token).toMatch(/^hct_[A-Za-z0-9_-]{43}$/)
    expect(expiresAt).toBe(clock.now() + TTL)
    expect(tokens.verify(token)).toEqual({ ...staff, expiresAt })

    clock.advance(TTL - 1)
    expect(tokens.verify(token).subject).toBe(staff.subject)
    clock.advance(1)
    expectCode(() => tokens.verify(token), 'EXPIRED_TOKEN')
  })

  it('says EXPIRED_TOKEN for one more lifetime, then forgets the token (UNKNOWN_TOKEN)', () => {
    const clock = fakeClock()
    const tokens = new TokenStore({ ttlMs: TTL, now: clock.now })
    const { token } = tokens.issue(staff)
    clock.advance(2 * TTL - 1)
    expectCode(() => tokens.verify(token), 'EXPIRED_TOKEN')
    clock.advance(1)
    tokens.issue(staff) // issuing sweeps
    expectCode(() => tokens.verify(token), 'UNKNOWN_TOKEN')
    expect(tokens.size).toBe(1)
  })

  it('refuses forged and malformed tokens', () => {
    const tokens = new TokenStore({ ttlMs: TTL })
    const { token } = tokens.issue(staff)
    const forged = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
    expectCode(() => tokens.verify(forged), 'UNKNOWN_TOKEN')
    expectCode(() => tokens.verify(`hct_${'A'.repeat(43)}`), 'UNKNOWN_TOKEN')
    expectCode(() => tokens.verify('hct_short'), 'MALFORMED_TOKEN')
    expectCode(() => tokens.verify(''), 'MALFORMED_TOKEN')
    expectCode(() => tokens.verify(`${token} `), 'MALFORMED_TOKEN')
  })

  it('revokes one token, or every token of a subject', () => {
    const tokens = new TokenStore({ ttlMs: TTL })
    const a = tokens.issue(staff).token
    const b = tokens.issue(staff).token
    const other = tokens.issue({ kind: 'user', subject: 'u'.repeat(32), role: 'user' }).token
    tokens.revoke(a)
    expectCode(() => tokens.verify(a), 'UNKNOWN_TOKEN')
    expect(tokens.revokeSubject(staff.subject)).toBe(1)
    expectCode(() => tokens.verify(b), 'UNKNOWN_TOKEN')
    expect(tokens.verify(other).role).toBe('user')
  })

  it('keeps at most maxTokens, dropping the oldest', () => {
    const tokens = new TokenStore({ ttlMs: TTL, maxTokens: 3 })
    const issued = Array.from({ length: 4 }, () => tokens.issue(staff).token)
    expect(tokens.size).toBe(3)
    expectCode(() => tokens.verify(issued[0]!), 'UNKNOWN_TOKEN')
    expect(tokens.verify(issued[3]!).kind).toBe('staff')
  })
})
