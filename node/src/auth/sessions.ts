/**
 * Logins and bearer-token checks, independent of HTTP: staff present an API
 * key, users a signed challenge; both get a short-lived token. Refusals are
 * NodeErrors with stable codes and change nothing (a challenge, once
 * presented, is used up either way). Auditing is the caller's job, since
 * only the caller knows where a request came from (http/audit-hook.ts).
 */
import type { InstitutionRole, UserId } from '@healthchain/core'
import { NodeError } from '../errors.js'
import type { ApiKeyStore } from './api-keys.js'
import type { ChallengeResponse, ChallengeStore, UserChallenge } from './challenge.js'
import type { IssuedToken, Principal, Session, TokenStore } from './tokens.js'

export interface SessionsComponents {
  readonly apiKeys: ApiKeyStore
  readonly tokens: TokenStore
  readonly challenges: ChallengeStore
}

export interface SessionsInit {
  /** The institution's role: every staff key must carry it. */
  readonly role: InstitutionRole
}

export interface Login extends IssuedToken {
  readonly principal: Principal
}

/** The audit log's name for a principal: `key:<id>` or `user:<id>`. */
export function actorOf (principal: Pick<Principal, 'kind' | 'subject'>): string {
  return principal.kind === 'staff' ? `key:${principal.subject}` : `user:${principal.subject}`
}

export class Sessions {
  private readonly components: SessionsComponents
  private readonly role: InstitutionRole

  constructor (components: SessionsComponents, init: SessionsInit) {
    this.components = components
    this.role = init.role
  }

  async loginWithApiKey (apiKey: string): Promise<Login> {
    const identity = await this.components.apiKeys.verify(apiKey)
    if (identity.role !== this.role) {
      throw new NodeError('KEY_ROLE_MISMATCH', `API key ${identity.id} is for role ${identity.role}, this node runs as ${this.role}`)
    }
    const principal: Principal = { kind: 'staff', subject: identity.id, role: identity.role }
    return { ...this.components.tokens.issue(principal), principal }
  }

  /** A challenge naming the generation of the user's key in force (challenge.ts: the same answer for a user not known here). */
  async challenge (userId: UserId): Promise<UserChallenge> {
    return await this.components.challenges.challenge(userId)
  }

  /** Failed logins remembered for the user: a successful one leaves the count as it was. */
  failedLogins (userId: UserId): number {
    return this.components.challenges.failedLogins(userId)
  }

  async loginWithChallenge (response: ChallengeResponse): Promise<Login> {
    const userId = await this.components.challenges.verify(response)
    const principal: Principal = { kind: 'user', subject: userId, role: 'user' }
    return { ...this.components.tokens.issue(principal), principal }
  }

  /**
   * The session a bearer token belongs to. A staff token also needs its API
   * key to be still active, so a key revoked by the CLI (another process)
   * ends its sessions at the next request.
   */
  async authenticate (token: string): Promise<Session> {
    const session = this.components.tokens.verify(token)
    if (session.kind === 'staff' && !await this.components.apiKeys.isActive(session.subject)) {
      this.components.tokens.revokeSubject(session.subject)
      throw new NodeError('REVOKED_KEY', 'the bearer token\'s API key was revoked')
    }
    return session
  }
}
