/**
 * A user's phone for the network's tests: a light peer over its own ledger
 * in a temporary directory, everything stopped and removed by `cleanup`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer, type NetworkNode } from '@healthchain/net'
import { crypto, type Cleanup, type TestNet } from '@healthchain/net/testing'

/** A light peer of `user`, bootstrapped from `bootstrap` (not connected yet). */
export async function lightPhone (net: TestNet, cleanup: Cleanup, user: UserKeys, bootstrap: readonly NetworkNode[]): Promise<LightPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-light-phone-'))
  cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
  const ledger = await Ledger.open({ dir, crypto, verifyWorkers: 0 })
  cleanup.push(async () => { await ledger.close() })
  const peer = await LightPeer.start({ ledger, registryKey: net.registryKey, user: user.sign, bootstrapPeers: bootstrap.map((n) => n.peerId) })
  cleanup.push(async () => { await peer.stop() })
  return peer
}

/** A node's TCP address (not its WebSockets one). */
export function tcpAddressOf (node: NetworkNode): string {
  const address = node.addresses.find((a) => !a.includes('/ws'))
  if (address === undefined) throw new Error('the node has no TCP address')
  return address
}
