/**
 * The libp2p host of a node: TCP and WebSockets (for light peers), Noise,
 * Yamux, Identify, Ping, and Gossipsub (`@libp2p/gossipsub`, which works
 * with libp2p 3; the older `@chainsafe/libp2p-gossipsub` silently does not).
 *
 * Light peers (phones) connect to full nodes but take no part in gossip:
 * gossipsub gives every peer the gate does not admit as a full peer a score
 * far below all its thresholds, so nothing is published or gossiped to it
 * and nothing it sends is accepted (heads would tell it which chains exist).
 * A light peer's own host (`createLightHost`) runs no gossipsub at all.
 */
import './polyfills.js'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { MembershipGate } from './membership-gate.js'

// Type aliases, not interfaces: libp2p's ServiceMap needs an index signature.
export type BaseServices = {
  identify: Identify
  ping: Ping
}

/** What replication and append forwarding need of a host: a full node's or a light peer's. */
export type BaseHost = Libp2p<BaseServices>

export type HostServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
}

export type Host = Libp2p<HostServices>

export interface HostInit {
  /** The node's libp2p identity (Ed25519); its peer id is what the registry names. */
  readonly privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/0 and /ip4/127.0.0.1/tcp/0/ws. */
  readonly listen: readonly string[]
  readonly gate: MembershipGate
}

export async function createHost (init: HostInit): Promise<Host> {
  return await createLibp2p({
    ...baseOptions(init),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: { appSpecificScore: (peer) => init.gate.admits(peer) ? 0 : NOT_A_GOSSIP_PEER, appSpecificWeight: 1 }
      })
    }
  })
}

/** Far below gossipsub's graylist threshold (-80 by default): the peer gets no gossip and its messages are ignored. */
const NOT_A_GOSSIP_PEER = -1_000_000

/** A light peer's host: the same transports and security, no gossip. */
export async function createLightHost (init: HostInit): Promise<BaseHost> {
  return await createLibp2p({
    ...baseOptions(init),
    services: { identify: identify(), ping: ping() }
  })
}

function baseOptions (init: HostInit) {
  return {
    privateKey: init.privateKey,
    addresses: { listen: [...init.listen] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: init.gate.connectionGater(),
    // The gate limits new connections per host instead (membership-gate.ts), so that every one refused is reported.
    connectionManager: { inboundConnectionThreshold: Number.MAX_SAFE_INTEGER }
  }
}
