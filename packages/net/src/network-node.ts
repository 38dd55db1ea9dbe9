/**
 * A node's network side, wired by hand in one place: the membership gate,
 * the libp2p host, and replication, over a ledger that is already open.
 */
import './polyfills.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import type { Ledger } from '@healthchain/ledger'
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

export class NetworkNode {
  readonly host: Host
  readonly gate: MembershipGate
  readonly replication: Replication
  private readonly unsubscribe: () => void

  private constructor (host: Host, gate: MembershipGate, replication: Replication) {
    this.host = host
    this.gate = gate
    this.replication = replication
    // Re-check every connection whenever the registry changes: a suspended institution is cut off.
    this.unsubscribe = gate.onChange(() => { void this.enforceMembership() })
  }

  static async start (init: NetworkNodeInit): Promise<NetworkNode> {
    const gate = new MembershipGate(init.ledger.registry, { bootstrapPeers: init.bootstrapPeers })
    const host = await createHost({ privateKey: init.privateKey, listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'], gate })
    const replication = new Replication({ host, ledger: init.ledger, gate })
    await replication.start()
    return new NetworkNode(host, gate, replication)
  }

  get peerId (): string { return this.host.peerId.toString() }
  get addresses (): string[] { return this.host.getMultiaddrs().map((a) => a.toString()) }

  /** Dials a peer by multiaddr (with /p2p/<id>); the gate decides whether the connection stands. */
  async dial (address: string): Promise<void> {
    await this.host.dial(multiaddr(address))
  }

  private async enforceMembership (): Promise<void> {
    this.replication.revoke()
    for (const connection of this.host.getConnections()) {
      if (!this.gate.admits(connection.remotePeer)) await connection.close().catch(() => {})
    }
  }

  async stop (): Promise<void> {
    this.unsubscribe()
    await this.replication.stop()
    await this.host.stop()
    this.gate.close()
  }
}
