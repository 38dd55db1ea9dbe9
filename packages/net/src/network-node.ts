/**
 * A node's network side, wired by hand in one place: the membership gate,
 * the libp2p host, replication and append forwarding, over a ledger that is
 * already open.
 */
import './polyfills.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import type { UserId, Entry } from '@healthchain/core'
import type { AppendResult, Ledger } from '@healthchain/ledger'
import { AppendService, appendToChain, type ForwardOptions } from './append-forwarding.js'
import { createHost, type Host } from './host.js'
import { MembershipGate } from './membership-gate.js'
import { Replication } from './replication.js'

export interface NetworkNodeInit {
  readonly ledger: Ledger
  readonly privateKey: PrivateKey
  /** Default: TCP on an ephemeral loopback port. */
  readonly listen?: readonly string[]
  /** Peer ids trusted to serve the registry before this node has it. */
  readonly bootstrapPeers?: readonly string[]
}

export interface AppendOptions extends ForwardOptions {
  /** The first position signed for; default the length of this node's copy of the chain. */
  readonly knownLength?: number
  /** Re-signs after STALE_POSITION; default 5. */
  readonly retries?: number
}

export class NetworkNode {
  readonly host: Host
  readonly gate: MembershipGate
  readonly replication: Replication
  readonly appends: AppendService
  readonly ledger: Ledger
  private readonly unsubscribe: () => void
  private stopped = false

  private constructor (parts: { ledger: Ledger, host: Host, gate: MembershipGate, replication: Replication, appends: AppendService }) {
    this.ledger = parts.ledger
    this.host = parts.host
    this.gate = parts.gate
    this.replication = parts.replication
    this.appends = parts.appends
    // Re-check every connection whenever the registry changes: a suspended institution is cut off.
    this.unsubscribe = parts.gate.onChange(() => { void this.enforceMembership() })
  }

  static async start (init: NetworkNodeInit): Promise<NetworkNode> {
    const gate = new MembershipGate(init.ledger.registry, { bootstrapPeers: init.bootstrapPeers })
    const host = await createHost({ privateKey: init.privateKey, listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'], gate })
    const replication = new Replication({ host, ledger: init.ledger, gate })
    await replication.start()
    const appends = new AppendService({ host, ledger: init.ledger, gate })
    await appends.start()
    return new NetworkNode({ ledger: init.ledger, host, gate, replication, appends })
  }

  get peerId (): string { return this.host.peerId.toString() }
  get addresses (): string[] { return this.host.getMultiaddrs().map((a) => a.toString()) }

  /** Dials a peer by multiaddr (with /p2p/<id>); the gate decides whether the connection stands. */
  async dial (address: string): Promise<void> {
    await this.host.dial(multiaddr(address))
  }

  /**
   * Appends an entry to `user`'s chain at its custodian (this node, or the
   * one the genesis names, by forwarding): `sign(seq)` signs the same entry
   * for a position, again after STALE_POSITION. Resolves once the custodian
   * has durably appended it; see append-forwarding.ts for the errors.
   */
  async append (user: UserId, sign: (seq: number) => Entry, opts: AppendOptions = {}): Promise<AppendResult> {
    return await appendToChain({ ...opts, ledger: this.ledger, host: this.host, user, sign })
  }

  private async enforceMembership (): Promise<void> {
    this.replication.revoke()
    for (const connection of this.host.getConnections()) {
      if (!this.gate.admits(connection.remotePeer)) await connection.close().catch(() => {})
    }
  }

  /** Stops the node (appends under way at this custodian finish first); a second call does nothing. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.unsubscribe()
    await this.appends.stop()
    await this.replication.stop()
    await this.host.stop()
    this.gate.close()
  }
}
