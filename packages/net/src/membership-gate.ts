/**
 * Who may connect: institutions the registry lists as active, by the libp2p
 * peer id their admission names (full peers); and users' light peers, for
 * their own chain only.
 *
 * Full peers are checked when a connection is secured (both directions), and
 * again whenever the registry changes: `revoke` closes connections of peers
 * no longer admitted.
 *
 * Light peers: a phone's libp2p identity IS the user's Ed25519 signing key
 * in force (the one its genesis names, or after a rekey the generation's),
 * so the Noise handshake already proves the peer holds that key, and the
 * user is found from the peer id alone: `userIdFromKey` for a user who never
 * rekeyed, the node's record of the key in force for one who did
 * (`userOfKey`: a rotated-out key — a stolen phone — is nobody's; a phone
 * still connected with it is cut off as soon as the rekey is folded,
 * retired-keys.ts). A light
 * peer is let in only by a node that holds the user's chain, is never
 * dialled, and every service decides
 * for itself what a light peer may do (replication: its own chain and the
 * registry; appends: its own chain; witnesses: its own chain's cosignatures;
 * gossip, heads-sync: nothing).
 * Reusing the key is safe because every signature made with it is
 * domain-separated: libp2p's Noise payload starts "noise-libp2p-static-key:",
 * its peer records are enveloped under "libp2p-peer-record" (a varint length
 * first), and every healthchain signature starts "healthchain/v1/…" — no
 * message can be valid in two of them.
 *
 * Inbound connections per host: at most `inboundLimit.connections` new
 * connections from one IP address in `inboundLimit.seconds` (default 5 a
 * second, libp2p's own default), counted before the handshake, so a flood
 * costs no Noise handshakes past the limit. libp2p's connection manager
 * has the same limit but drops the connection without telling anyone; it
 * is turned off in host.ts and enforced here, with libp2p's RateLimiter, so
 * that each connection refused for it is reported (`onInbound`, reason
 * RATE_LIMITED, no peer id: none was proved) and the node's audit log can
 * count it.
 *
 * Bootstrap: a node that started without the registry (nothing past the
 * consortium block) admits the peers its operator configured as bootstrap
 * peers too, until it has received the registry, so it can fetch it. That
 * is safe: the registry key binds the governance key (the core's manifest)
 * and every block carries the governance signature, so its content is
 * authenticated whoever serves it; a bad bootstrap peer can only withhold
 * it. "Received" is: something past the consortium block, and every block
 * the node knows of (the core's signed length) applied. The registry
 * arrives block by block, and a copy holding the consortium and the first
 * admissions, but not yet the bootstrap peer's, must not refuse the very
 * peer it is fetching from (a fresh phone's `connect` then `discoverChain`
 * failed with NO_PEER so). Meanwhile a bootstrap peer that the blocks
 * applied so far name is judged by them (suspended: refused at once). Once
 * received, bootstrap trust ends for good; a node that starts with more than
 * the consortium block never has it: a registry that grows, or a copy
 * reopened while its last blocks are on their way, lets no bootstrap peer
 * it names suspended, or not at all, back in.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { RateLimiter, getNetConfig, isNetworkAddress } from '@libp2p/utils'
import { userIdFromKey, type UserId } from '@healthchain/core'
import type { RegistryFeed } from '@healthchain/ledger'

export interface MembershipGateInit {
  /** Peer ids (base58) trusted to serve the registry before this node has it. */
  readonly bootstrapPeers?: readonly string[]
  /**
   * Whether this node holds `user`'s chain, so that user's light peer may
   * connect. Omitted: no light peer is ever admitted.
   */
  readonly holdsChainOf?: (user: UserId) => boolean
  /**
   * The user whose signing key in force this is, among users whose chain
   * this node holds (the ledger's userOfSignKey): a rekeyed user's phone
   * connects with its new key, and a key the user rotated out (a lost or
   * stolen phone) is nobody's. Takes the place of `holdsChainOf` when given.
   */
  readonly userOfKey?: (publicKey: Uint8Array) => UserId | undefined
  /** Told of every inbound connection's verdict (for the node's audit log): once its peer is authenticated, or on its refusal before that (RATE_LIMITED). */
  readonly onInbound?: (decision: InboundDecision) => void
  /** New inbound connections accepted from one host (IP address) in a window of `seconds`; default 5 a second. */
  readonly inboundLimit?: { readonly connections: number, readonly seconds: number }
}

export interface InboundDecision {
  /** The peer id, once the handshake proved it; absent for a connection refused before the handshake (RATE_LIMITED). */
  readonly peer?: string
  /** The remote address the connection came from. */
  readonly remote: string
  /** 'full' (an institution), 'light' (a user's phone, `user` set), or false (refused, `reason` set). */
  readonly admitted: 'full' | 'light' | false
  /** Why a connection was refused: NOT_ADMITTED (neither a member nor a user held here) or RATE_LIMITED (too many from its host). */
  readonly reason?: InboundRefusal
  readonly user?: UserId
}

export type InboundRefusal = 'NOT_ADMITTED' | 'RATE_LIMITED'

/** libp2p's own default (its connection manager's inboundConnectionThreshold). */
export const DEFAULT_INBOUND_LIMIT = { connections: 5, seconds: 1 } as const

export class MembershipGate {
  private readonly registry: RegistryFeed
  private readonly bootstrap: ReadonlySet<string>
  private readonly holdsChainOf: ((user: UserId) => boolean) | undefined
  private readonly userOfKey: ((publicKey: Uint8Array) => UserId | undefined) | undefined
  private readonly onInbound: ((decision: InboundDecision) => void) | undefined
  private active = new Set<string>()
  /** Peers the registry names, of any status: a bootstrap peer among them is judged by its status. */
  private named = new Set<string>()
  /** Set once the registry has been received, or from the start if the node had it (see the top of this file): bootstrap peers are then judged by it alone. */
  private received: boolean
  private readonly inbound: RateLimiter
  private readonly unsubscribe: () => void
  private readonly listeners = new Set<() => void>()

  constructor (registry: RegistryFeed, init: MembershipGateInit = {}) {
    this.registry = registry
    this.bootstrap = new Set(init.bootstrapPeers ?? [])
    this.holdsChainOf = init.holdsChainOf
    this.userOfKey = init.userOfKey
    this.onInbound = init.onInbound
    const limit = init.inboundLimit ?? DEFAULT_INBOUND_LIMIT
    if (!Number.isSafeInteger(limit.connections) || limit.connections < 1) throw new RangeError('inboundLimit.connections: expected a positive integer')
    if (!Number.isSafeInteger(limit.seconds) || limit.seconds < 1) throw new RangeError('inboundLimit.seconds: expected a positive integer')
    this.inbound = new RateLimiter({ points: limit.connections, duration: limit.seconds })
    this.received = registry.state.length > 1
    this.recompute()
    this.unsubscribe = registry.onChange(() => {
      this.recompute()
      for (const listener of this.listeners) listener()
    })
  }

  private recompute (): void {
    const institutions = this.registry.state.institutions()
    this.active = new Set(institutions.flatMap((r) => r.status === 'active' && r.peer !== undefined ? [r.peer] : []))
    this.named = new Set(institutions.flatMap((r) => r.peer === undefined ? [] : [r.peer]))
    // Latched here too, not only when asked: the listeners told next (a node's enforceMembership) judge by the registry alone from now on.
    this.registryReceived()
  }

  /** Whether a peer may hold a connection to this node now as a full peer (an institution). */
  admits (peer: PeerId | string): boolean {
    const id = peer.toString()
    if (this.active.has(id)) return true
    return this.bootstrap.has(id) && !this.named.has(id) && !this.registryReceived()
  }

  /** Whether this node has received the registry: past the consortium block, and every block it knows of applied. */
  private registryReceived (): boolean {
    if (this.received) return true
    const applied = this.registry.state.length
    // The core's length is the signed length this node has learnt of (a replica's blocks may still be on their way).
    this.received = applied > 1 && applied >= this.registry.core.length
    return this.received
  }

  /**
   * The user whose light peer this is, if it may connect as one: not a full
   * peer, an Ed25519 identity, and a user whose chain this node holds.
   */
  lightUserOf (peer: PeerId | string): UserId | undefined {
    if ((this.holdsChainOf === undefined && this.userOfKey === undefined) || this.admits(peer)) return undefined
    const publicKey = publicKeyOf(peer)
    if (publicKey === undefined) return undefined
    if (this.userOfKey !== undefined) return this.userOfKey(publicKey)
    const user = userIdFromKey(publicKey)
    return this.holdsChainOf!(user) ? user : undefined
  }

  /** Whether a peer may hold a connection at all: a full peer, or a light peer. */
  accepts (peer: PeerId | string): boolean {
    return this.admits(peer) || this.lightUserOf(peer) !== undefined
  }

  /** Whether a new inbound connection is within its host's limit; counts it. */
  private withinInboundLimit (connection: MultiaddrConnection): boolean {
    // Anything but an IP address (a relay, a memory transport) has no host to count.
    if (!isNetworkAddress(connection.remoteAddr)) return true
    try {
      this.inbound.consume(getNetConfig(connection.remoteAddr).host, 1)
      return true
    } catch {
      this.report({ remote: connection.remoteAddr.toString(), admitted: false, reason: 'RATE_LIMITED' })
      return false
    }
  }

  private decideInbound (peer: PeerId, remote: string): boolean {
    const user = this.admits(peer) ? undefined : this.lightUserOf(peer)
    const admitted = this.admits(peer) ? 'full' : user !== undefined ? 'light' : false
    this.report({ peer: peer.toString(), remote, admitted, ...(user === undefined ? {} : { user }), ...(admitted === false ? { reason: 'NOT_ADMITTED' as const } : {}) })
    return admitted !== false
  }

  private report (decision: InboundDecision): void {
    try {
      this.onInbound?.(decision)
    } catch {
      // An observer's failure never changes a verdict.
    }
  }

  /** Calls `listener` after membership may have changed; returns an unsubscribe. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The libp2p connection gater enforcing this gate: light peers connect in, this node dials only full peers. */
  connectionGater (): ConnectionGater {
    return {
      denyInboundConnection: (connection) => !this.withinInboundLimit(connection),
      denyDialPeer: (peer) => !this.admits(peer),
      denyInboundEncryptedConnection: (peer, connection) => !this.decideInbound(peer, connection.remoteAddr.toString()),
      denyOutboundEncryptedConnection: (peer) => !this.admits(peer)
    }
  }

  close (): void {
    this.unsubscribe()
    this.listeners.clear()
  }
}

/** The raw Ed25519 public key a peer id embeds (a light peer's: its user's signing key); undefined for any other kind of id. */
export function publicKeyOf (peer: PeerId | string): Uint8Array | undefined {
  try {
    const id = typeof peer === 'string' ? peerIdFromString(peer) : peer
    return id.type === 'Ed25519' ? id.publicKey.raw : undefined
  } catch {
    return undefined
  }
}
