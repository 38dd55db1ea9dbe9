/**
 * The phone's libp2p identity is the user's signing key IN FORCE: a node
 * admits a light peer only under the key the user's chain has in force, and
 * refuses (and cuts off) a key a rekey retired. So:
 *
 * - at open, the light peer starts under the generation the device's
 *   verified chain has in force (device-open.ts, from the KeyRing);
 * - after a rotation, it restarts under the revealed key as soon as the
 *   custodian took the rekey, and dials the nodes it knows again
 *   (`switchTo`);
 * - a device that does not know its generation — a new phone after a
 *   rotation, or one that missed a rotation made on another device — cannot
 *   ask: a node says nothing to a key it refuses. It tries the generations
 *   after the one it knows, in order (`connect`): when no node is connected
 *   and none of the addresses took the identity in use, the light peer
 *   restarts under generation g + 1, g + 2, … up to g + GENERATIONS_PROBED,
 *   each derived from the phrase, and keeps the first that a node admits.
 *   Lower generations are never tried: they are retired. The bound caps
 *   what probing costs when the nodes are down or do not hold the chain: at
 *   most GENERATIONS_PROBED host restarts and dials per address. A device more
 *   rotations behind than that stays unconnected (NOT_CONNECTED): sixteen
 *   rotations of one chain is far past any use foreseen. A probe shows a
 *   node the public key of a generation not revealed yet: harmless, what
 *   guards the next keys is their secret half, which no handshake reveals.
 *
 * The ring itself follows the chain only (a sync); the identity is transport.
 * Two devices of one user share the identity: a node keeps one replication
 * channel per peer id, so they are served one at a time.
 */
import { equal, type SigningKeyPair } from '@healthchain/core'
import type { LightPeer } from '@healthchain/net'
import { peerOf } from './argument-checks.js'
import type { KeyRing } from './key-ring.js'

/** Generations after the known one a device tries when no node admits it. */
export const GENERATIONS_PROBED = 16

/** After a rekey, a node records the new key just after it folded it: a dial an instant before is refused, so it is retried. */
const SWITCH_RETRIES = 20
const SWITCH_RETRY_MS = 100
/** How long a dialled node has to open the replication channel before its silence counts as a refusal. */
const ADMISSION_WAIT_MS = 5_000

export class PhoneIdentity {
  private readonly peer: LightPeer
  private readonly ring: KeyRing

  constructor (peer: LightPeer, ring: KeyRing) {
    this.peer = peer
    this.ring = ring
  }

  /** Peer ids of the nodes connected now. */
  connectedNodes (): string[] {
    return [...new Set(this.peer.host.getConnections().map((c) => c.remotePeer.toString()))]
  }

  /**
   * Dials every address not connected yet (skipping those whose node is),
   * probing later generations if none is connected after (see above).
   * Returns the addresses connected; `errors` has the last dial's failure per
   * address that failed.
   */
  async connect (addresses: readonly string[]): Promise<{ connected: string[], errors: Map<string, unknown> }> {
    const first = await this.dialAll(addresses)
    if (first.connected.length > 0 || this.connectedNodes().length > 0 || addresses.length === 0) return first
    const from = this.ring.current
    for (let g = from + 1; g <= from + GENERATIONS_PROBED; g++) {
      await this.peer.changeIdentity(this.ring.keysAt(g).sign)
      const probed = await this.dialAll(addresses)
      if (probed.connected.length > 0) return probed
    }
    await this.peer.changeIdentity(this.ring.keys.sign)
    return first
  }

  /**
   * Restarts the light peer under `key` (a rekey's revealed key, once the
   * custodian took it; or the ring's key in force after a sync) and dials
   * `addresses` again until one admits it. Nothing if `key` is in use.
   */
  async switchTo (key: SigningKeyPair, addresses: readonly string[]): Promise<void> {
    if (equal(this.peer.identity, key.publicKey)) return
    await this.peer.changeIdentity(key)
    for (let i = 0; i < SWITCH_RETRIES && addresses.length > 0; i++) {
      if ((await this.dialAll(addresses)).connected.length > 0) return
      await new Promise((resolve) => setTimeout(resolve, SWITCH_RETRY_MS))
    }
  }

  /** After the ring followed the chain: its key in force becomes the identity, if it is not already. */
  async follow (addresses: readonly string[]): Promise<void> {
    await this.switchTo(this.ring.keys.sign, addresses)
  }

  /**
   * A node that refuses the key lets the dial finish and closes the
   * connection right after its side of the handshake: admitted means its
   * replication channel opened (the light peer opens it at once).
   */
  private async admitted (peer: string): Promise<boolean> {
    const deadline = Date.now() + ADMISSION_WAIT_MS
    while (Date.now() < deadline) {
      if (this.peer.replication.peers.includes(peer)) return true
      if (!this.connectedNodes().includes(peer)) return false
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return this.peer.replication.peers.includes(peer)
  }

  private async dialAll (addresses: readonly string[]): Promise<{ connected: string[], errors: Map<string, unknown> }> {
    const connected: string[] = []
    const errors = new Map<string, unknown>()
    const peers = new Set(this.connectedNodes())
    for (const address of addresses) {
      if (peers.has(peerOf(address))) continue
      try {
        await this.peer.connect(address)
        if (!await this.admitted(peerOf(address))) throw new Error('the node did not admit this key')
        connected.push(address)
        peers.add(peerOf(address))
      } catch (err) {
        errors.set(address, err)
      }
    }
    return { connected, errors }
  }
}
