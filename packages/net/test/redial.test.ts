/**
 * Nodes find each other again by themselves: the registry lists each
 * member's addresses, and a node dials the active members it is not
 * connected to — here after the custodian restarts — without an operator.
 */
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { generatePartyKeys, type InstitutionId, type PartyKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { NetworkNode } from '@healthchain/net'
import { crypto, waitFor } from '@healthchain/net/testing'

interface Party { id: InstitutionId, keys: PartyKeys, p2p: PrivateKey, peer: string, port: number }

/** A TCP port free on 127.0.0.1 right now (the registry must name it before the node listens). */
async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('redialling registry members', () => {
  it('a node reconnects to a member that restarted, by the addresses the registry lists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-redial-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const make = async (id: string): Promise<Party> => {
      const p2p = await generateKeyPair('Ed25519')
      return { id: id as InstitutionId, keys: generatePartyKeys(crypto), p2p, peer: peerIdFromPrivateKey(p2p).toString(), port: await freePort() }
    }
    const a = await make('hospital-a')
    const b = await make('hospital-b')
    const governance = generatePartyKeys(crypto)
    const open = async (p: Party): Promise<Ledger> => {
      const ledger = await Ledger.open({ dir: join(dir, p.id), institution: p.id, crypto, verifyWorkers: 0 })
      cleanup.push(async () => { await ledger.close() })
      return ledger
    }
    const start = async (ledger: Ledger, p: Party): Promise<NetworkNode> => {
      const node = await NetworkNode.start({ ledger, privateKey: p.p2p, listen: [`/ip4/127.0.0.1/tcp/${p.port}`], bootstrapPeers: [a.peer], redialIntervalMs: 100 })
      cleanup.push(async () => { await node.stop() })
      return node
    }
    const connected = (node: NetworkNode, peer: string): boolean => node.host.getConnections().some((c) => c.remotePeer.toString() === peer)

    const ledgerA = await open(a)
    const registry = await ledgerA.createRegistry(governance.sign, 'Redial test')
    for (const p of [a, b]) {
      await registry.append('admit', {
        institution: p.id, name: p.id, role: 'examiner', sign: p.keys.sign.publicKey, box: p.keys.box.publicKey, peer: p.peer, addrs: [`/ip4/127.0.0.1/tcp/${p.port}`]
      }, governance.sign)
    }
    const ledgerB = await open(b)
    await ledgerB.followRegistry(registry.key)

    let nodeA = await start(ledgerA, a)
    const nodeB = await start(ledgerB, b)
    // The first contact needs an address (hospital-b has no registry yet); after that the registry's addresses suffice.
    await nodeB.dial(`/ip4/127.0.0.1/tcp/${a.port}/p2p/${a.peer}`)
    await waitFor(() => ledgerB.registry.length === registry.length, 'hospital-b to receive the registry')

    await nodeA.stop()
    await waitFor(() => !connected(nodeB, a.peer), 'hospital-b to notice hospital-a is gone')
    const failuresBefore = nodeB.dialer.failures
    await waitFor(() => nodeB.dialer.failures > failuresBefore, 'hospital-b to try hospital-a while it is down')
    nodeA = await start(ledgerA, a)
    await waitFor(() => connected(nodeB, a.peer), 'hospital-b to reconnect to the restarted hospital-a by itself')
    expect(connected(nodeA, b.peer)).toBe(true)
  }, 30_000)
})
