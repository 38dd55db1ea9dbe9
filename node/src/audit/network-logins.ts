/**
 * Logins over the network, for the audit log: a user's phone connecting as a
 * light peer is authenticated by the Noise handshake with the user's own
 * key (packages/net membership-gate.ts), so that connection is the user's
 * login — granted when this node holds their chain, refused otherwise
 * (the peer could be anyone: logged as anonymous), as is a connection
 * refused before its handshake because its host opened too many
 * (RATE_LIMITED). Refusals are unauthenticated: repeated ones from one host
 * are counted, not written one by one (audit-aggregator.ts). Institutions'
 * own connections are membership, not logins, and are not logged here.
 */
import type { InboundDecision } from '@healthchain/net'
import type { AuditSink } from './audit-sink.js'

export function auditNetworkLogins (audit: AuditSink): (decision: InboundDecision) => void {
  return (decision) => {
    if (decision.admitted === 'full') return
    const granted = decision.admitted === 'light' && decision.user !== undefined
    const code = decision.reason ?? 'NOT_ADMITTED'
    audit.append({
      actor: granted ? `user:${decision.user!}` : 'anonymous',
      ...(granted ? { role: 'user' as const } : {}),
      action: 'login',
      target: 'p2p',
      from: decision.remote.slice(0, 100),
      result: granted ? 'granted' : 'refused',
      ...(granted ? {} : { code })
    }, granted ? {} : { unauthenticatedRefusal: { answered: code } }).catch(() => {
      // The connection verdict stands either way; a log that cannot be written fails the node's API requests (audit-hook.ts).
    })
  }
}
