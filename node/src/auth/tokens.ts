/**
 * Short-lived bearer tokens: `hct_` + 32 random bytes in base64url, kept in
 * this process's memory with who they were issued to and until when.
 *
 * Why opaque tokens in memory rather than HMAC-signed, self-contained ones:
 * a token is only ever presented to the node that issued it, so being
 * stateless buys nothing — and state buys revocation: revoking an API key
 * (or logging out) ends its tokens at once, where a signed token would stay
 * valid until it expires unless a deny-list were kept, which is state
 * again. There is also no token format to version and nothing to forge: a
 * token is valid only if this process issued it. A restart ends every
 * session (clients log in again; tokens live minutes anyway).
 *
 * Tokens are stored under their SHA-256, so the map never holds a usable
 * token and lookups do not compare secrets byte by byte. Expired tokens are
 * remembered for one more lifetime so that their holders hear
 * EXPIRED_TOKEN rather than UNKNOWN_TOKEN, then forgotten.
 */
import { randomBytes } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import { base64urlnopad } from '@scure/base'
import { bytesToHex, utf8ToBytes, type Role } from '@healthchain/core'
import { NodeError } from '../errors.js'

export const TOKEN_PREFIX = 'hct_'
const TOKEN_PATTERN = /^hct_[A-Za-z0-9_-]{43}$/
/** A cap on remembered tokens, so a flood of logins cannot exhaust memory; the oldest go first. */
export const DEFAULT_MAX_TOKENS = 100_000

/** Who a token speaks for. `subject` is an API key id (staff) or a user id (user). */
export interface Principal {
  readonly kind: 'staff' | 'user'
  readonly subject: string
  readonly role: Role
}

export interface IssuedToken {
  readonly token: string
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
}

export interface Session extends Principal {
  readonly expiresAt: number
}

export interface TokenStoreInit {
  /** Lifetime of a token in milliseconds. */
  readonly ttlMs: number
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number
  readonly maxTokens?: number
}

function keyOf (token: string): string {
  return bytesToHex(sha256(utf8ToBytes(token)))
}

export class TokenStore {
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly maxTokens: number
  /** By token hash, in issue order — which is also expiry order, as every token has the same lifetime. */
  private readonly sessions = new Map<string, Session>()

  constructor (init: TokenStoreInit) {
    if (!Number.isSafeInteger(init.ttlMs) || init.ttlMs <= 0) throw new RangeError('ttlMs: expected a positive integer')
    this.ttlMs = init.ttlMs
    this.now = init.now ?? Date.now
    this.maxTokens = init.maxTokens ?? DEFAULT_MAX_TOKENS
  }

  get size (): number { return this.sessions.size }

  issue (principal: Principal): IssuedToken {
    this.sweep()
    while (this.sessions.size >= this.maxTokens) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.sessions.delete(oldest)
    }
    const token = TOKEN_PREFIX + base64urlnopad.encode(randomBytes(32))
    const expiresAt = this.now() + this.ttlMs
    this.sessions.set(keyOf(token), Object.freeze({ kind: principal.kind, subject: principal.subject, role: principal.role, expiresAt }))
    return { token, expiresAt }
  }

  /** The session of `token`, or MALFORMED_TOKEN, UNKNOWN_TOKEN (never issued here, or revoked), EXPIRED_TOKEN. */
  verify (token: string): Session {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw new NodeError('MALFORMED_TOKEN', 'expected a bearer token of the form hct_<token>')
    const session = this.sessions.get(keyOf(token))
    if (session === undefined) throw new NodeError('UNKNOWN_TOKEN', 'the bearer token was not issued by this node, or was revoked')
    if (this.now() >= session.expiresAt) throw new NodeError('EXPIRED_TOKEN', 'the bearer token has expired; log in again')
    return session
  }

  /** Ends one token (logout). */
  revoke (token: string): void {
    if (typeof token === 'string') this.sessions.delete(keyOf(token))
  }

  /** Ends every token of a subject (an API key that was revoked). */
  revokeSubject (subject: string): number {
    let ended = 0
    for (const [key, session] of this.sessions) {
      if (session.subject === subject) { this.sessions.delete(key); ended++ }
    }
    return ended
  }

  /** Forgets tokens that expired more than one lifetime ago (they are at the front: issue order is expiry order). */
  private sweep (): void {
    const horizon = this.now() - this.ttlMs
    for (const [key, session] of this.sessions) {
      if (session.expiresAt > horizon) break
      this.sessions.delete(key)
    }
  }
}
