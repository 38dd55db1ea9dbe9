/**
 * Who may connect: only institutions the registry lists as active, by the
 * libp2p peer id their admission names. Checked when a connection is
 * secured (both directions), and again whenever the registry changes:
 * `revoke` closes connections of peers no longer admitted.
 *
 * Bootstrap: a node that has not yet received the registry (nothing past the
 * consortium block) admits only the peers its operator configured as
 * bootstrap peers, so it can fetch the registry. That is safe: the registry
 * is a Hypercore whose key is the governance key's, so its content is
 * authenticated whoever serves it; a bad bootstrap peer can only withhold it.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { RegistryFeed } from '@healthchain/ledger'

export interface MembershipGateInit {
  /** Peer ids (base58) trusted to serve the registry before this node has it. */
  readonly bootstrapPeers?: readonly string[]
}

export class MembershipGate {
  private readonly registry: RegistryFeed
  private readonly bootstrap: ReadonlySet<string>
  private active = new Set<string>()
  private readonly unsubscribe: () => void
  private readonly listeners = new Set<() => void>()

  constructor (registry: RegistryFeed, init: MembershipGateInit = {}) {
    this.registry = registry
    this.bootstrap = new Set(init.bootstrapPeers ?? [])
    this.recompute()
    this.unsubscribe = registry.onChange(() => {
      this.recompute()
      for (const listener of this.listeners) listener()
    })
  }

  private recompute (): void {
    this.active = new Set(this.registry.state.institutions().flatMap((r) => r.status === 'active' && r.peer !== undefined ? [r.peer] : []))
  }

  /** Whether a peer may hold a connection to this node now. */
  admits (peer: PeerId | string): boolean {
    const id = peer.toString()
    if (this.active.has(id)) return true
    return this.registry.state.length <= 1 && this.bootstrap.has(id)
  }

  /** Calls `listener` after membership may have changed; returns an unsubscribe. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The libp2p connection gater enforcing this gate. */
  connectionGater (): ConnectionGater {
    return {
      denyDialPeer: (peer) => !this.admits(peer),
      denyInboundEncryptedConnection: (peer) => !this.admits(peer),
      denyOutboundEncryptedConnection: (peer) => !this.admits(peer)
    }
  }

  close (): void {
    this.unsubscribe()
    this.listeners.clear()
  }
}
