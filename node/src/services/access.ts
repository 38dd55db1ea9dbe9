/**
 * The one access rule every read of a user's data goes through, whether it
 * reads the chain itself (entries, summary, verification, FHIR) or what the
 * query index derived from it (series, exercise):
 *
 *   - the caller's role must be allowed to read plain segments (403 FORBIDDEN);
 *   - a user reads their own chain only (403 FORBIDDEN);
 *   - the chain must be held here (404 UNKNOWN_CHAIN).
 *
 * Which role may call which route is the route guard's business (requireAuth);
 * which sealed parts a reader sees is entry-view.ts's.
 */
import { can, type Role, type UserId } from '@healthchain/core'
import { LedgerError, type Ledger, type UserChain } from '@healthchain/ledger'
import { NodeError } from '../errors.js'

/** Who is asking: a session's role and subject (API key id for staff, user id for users). */
export interface Caller {
  readonly role: Role
  readonly subject: string
}

export interface AccessComponents {
  readonly ledger: Pick<Ledger, 'hasChain' | 'chain'>
}

export interface AccessPolicy {
  /** Refuses (FORBIDDEN) unless `caller` may read `user`'s chain; says nothing of whether it is held. */
  checkRead (caller: Caller, user: UserId): void
  /** `user`'s chain, opened, if `caller` may read it and it is held here. */
  readableChain (caller: Caller, user: UserId): Promise<UserChain>
  /** `user`, if `caller` may read their chain and it is held here, without opening it (reads of the query index). */
  readableUser (caller: Caller, user: UserId): UserId
  /** Refuses (UNKNOWN_CHAIN) unless `user`'s chain is held here: the index alone would answer with nothing. */
  checkHeld (user: UserId): void
}

export function createAccessPolicy (components: AccessComponents): AccessPolicy {
  const { ledger } = components
  const policy: AccessPolicy = {
    checkRead (caller, user) {
      if (!can(caller.role, 'read', 'plain')) throw new NodeError('FORBIDDEN', `role ${caller.role} may not read chains`)
      if (caller.role === 'user' && caller.subject !== user) throw new NodeError('FORBIDDEN', 'a user reads their own chain only')
    },
    async readableChain (caller, user) {
      policy.checkRead(caller, user)
      return await ledger.chain(user)
    },
    readableUser (caller, user) {
      policy.checkRead(caller, user)
      policy.checkHeld(user)
      return user
    },
    checkHeld (user) {
      if (!ledger.hasChain(user)) throw new LedgerError('UNKNOWN_CHAIN', `no chain is held here for user ${user}`)
    }
  }
  return policy
}
