/**
 * Logins over the network, for the audit log: a user's phone connecting as a
 * light peer is authenticated by the Noise handshake with the user's own
 * key (packages/net membership-gate.ts), so that connection is the user's
 * login (S1) — granted when this node holds their chain, refused otherwise
 * (the peer could be anyone: logged as anonymous). Institutions' own
 * connections are membership, not logins, and are not logged here.
 */
import type { InboundDecision } from '@healthchain/net'
import type { AuditSink } from '../http/audit-hook.js'

export function auditNetworkLogins (audit: AuditSink): (decision: InboundDecision) => void {
  return (decision) => {
    if (decision.admitted === 'full') return
    const granted = decision.admitted === 'light' && decision.user !== undefined
    audit.append({
      actor: granted ? `user:${decision.user!}` : 'anonymous',
      ...(granted ? { role: 'user' as const } : {}),
      action: 'login',
      target: 'p2p',
      from: decision.remote.slice(0, 100),
      result: granted ? 'granted' : 'refused',
      ...(granted ? {} : { code: 'NOT_ADMITTED' })
    }).catch(() => {
      // The connection verdict stands either way; a log that cannot be written fails the node's API requests (audit-hook.ts).
    })
  }
}
