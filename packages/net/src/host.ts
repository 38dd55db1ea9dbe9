/**
 * The libp2p host of a node: TCP and WebSockets (for light peers), Noise,
 * Yamux, Identify, Ping, and Gossipsub (`@libp2p/gossipsub`, which works
 * with libp2p 3; the older `@chainsafe/libp2p-gossipsub` silently does not).
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

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
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
    privateKey: init.privateKey,
    addresses: { listen: [...init.listen] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: init.gate.connectionGater(),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false })
    }
  })
}
