/**
 * Nodes find each other again by themselves: the registry lists each
 * member's addresses, and a node dials the active members it is not
 * connected to — here after the custodian restarts — without an operator.
 */
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { Ledger } from '@healthchain/ledger'
import { LedgerConsortium } from '@healthchain/ledger/testing'
import { NetworkNode } from '@healthchain/net'
import { crypto, makeParty, waitFor, type Party as NetParty } from '@healthchain/net/testing'

type Party = NetParty & { port: number }

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
    const make = async (id: string): Promise<Party> => {
      const port = await freePort()
      return { ...await makeParty(id, 'examiner'), port, addrs: [`/ip4/127.0.0.1/tcp/${port}`] }
    }
    const a = await make('hospital-a')
    const b = await make('hospital-b')
    const c = await LedgerConsortium.create({
      parties: [a, b], name: 'Redial test', prefix: 'healthchain-redial-', ledger: { crypto, verifyWorkers: 0 }, onCleanup: cleanup
    })
    const start = async (ledger: Ledger, p: Party): Promise<NetworkNode> => {
      const node = await NetworkNode.start({ ledger, privateKey: p.p2p, listen: [`/ip4/127.0.0.1/tcp/${p.port}`], bootstrapPeers: [a.peer], redialIntervalMs: 100 })
      cleanup.push(async () => { await node.stop() })
      return node
    }
    const connected = (node: NetworkNode, peer: string): boolean => node.host.getConnections().some((c) => c.remotePeer.toString() === peer)

    const ledgerA = await c.ledger(a.id)
    const registry = ledgerA.registry
    // hospital-b knows only the registry's key.
    const ledgerB = await c.ledger(b.id)

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
