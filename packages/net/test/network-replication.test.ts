/**
 * Real nodes on 127.0.0.1: libp2p over TCP, Corestores on disk. The registry
 * and a user's chain replicate from the custodian to another institution,
 * which re-checks every entry; an unknown peer gets nothing; a suspended
 * institution is cut off.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import type { Ledger } from '@healthchain/ledger'
import { LedgerConsortium, enrolWithExams } from '@healthchain/ledger/testing'
import { NetworkNode } from '@healthchain/net'
import { makeParty, waitFor, type Party } from '@healthchain/net/testing'

const party = makeParty

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function nodeFor (ledger: Ledger, who: Party, bootstrapPeers: string[] = []): Promise<NetworkNode> {
  const node = await NetworkNode.start({ ledger, privateKey: who.p2p, bootstrapPeers })
  cleanup.push(async () => { await node.stop() })
  return node
}

describe('replication between real nodes', () => {
  it('the registry and a chain reach another institution, verified; an unknown peer gets nothing; a suspended one is cut off', async () => {
    const a = await party('hospital-a', 'examiner')
    const b = await party('hospital-b', 'examiner')
    const outsider = await party('outsider', 'examiner')

    // hospital-a holds the registry (written with the governance key) and enrols a user; the ledgers close after the nodes.
    const c = await LedgerConsortium.create({
      parties: [a, b], name: 'Network test', prefix: 'healthchain-net-', ledger: { crypto, verifyWorkers: 0 }, onCleanup: cleanup
    })
    const ledgerA = await c.ledger(a.id)
    const registry = ledgerA.registry
    const { user, chainKey, chain } = await enrolWithExams(ledgerA, a, 20, crypto)

    // hospital-b knows only the registry's key; it learns the registry from hospital-a.
    const ledgerB = await c.ledger(b.id)
    const nodeA = await nodeFor(ledgerA, a)
    const nodeB = await nodeFor(ledgerB, b, [a.peer])
    await nodeB.dial(`${nodeA.addresses[0]!}`)
    await waitFor(() => ledgerB.registry.length === registry.length, 'hospital-b to receive the registry')
    expect(ledgerB.registry.state.institutionAt(b.id)?.peer).toBe(b.peer)

    const { chain: replica, ingest } = await nodeB.replication.fetchChain(user.userId, chainKey, { length: chain.length })
    expect(ingest.problem).toBeUndefined()
    expect(replica.verifiedLength).toBe(chain.length)
    expect(replica.writable).toBe(false)
    const report = await ledgerB.verify(user.userId)
    expect(report.valid).toBe(true)
    expect(report.verified).toBe(chain.length)

    // A peer the registry does not list: hospital-a refuses the connection, so it never gets the registry.
    // (Not admitted: it has a ledger in the consortium's directory, nothing more.)
    const ledgerO = await c.openLedger(outsider.id, { institution: outsider.id, verifyWorkers: 0 })
    await ledgerO.followRegistry(registry.key)
    const nodeO = await nodeFor(ledgerO, outsider, [a.peer])
    // (The dial itself may appear to succeed on the outsider's side before hospital-a's refusal reaches it.)
    await nodeO.dial(nodeA.addresses[0]!).catch(() => {})
    await waitFor(() => nodeO.host.getConnections().length === 0, 'the outsider\'s connection to be closed')
    expect(nodeA.host.getConnections().some((c) => c.remotePeer.toString() === outsider.peer)).toBe(false)
    expect(ledgerO.registry.length).toBe(0)
    await expect(nodeO.replication.fetchChain(user.userId, chainKey)).rejects.toMatchObject({ code: 'NO_PEER' })
    expect(ledgerO.hasChain(user.userId)).toBe(false)

    // Suspending hospital-b cuts it off, and it cannot come back.
    await c.setStatus(b.id, 'suspend')
    const connectedToB = (): boolean => nodeA.host.getConnections().some((c) => c.remotePeer.toString() === b.peer)
    await waitFor(() => !connectedToB(), 'hospital-a to drop hospital-b')
    await nodeB.dial(nodeA.addresses[0]!).catch(() => {})
    await waitFor(() => nodeB.host.getConnections().length === 0, 'hospital-b\'s new connection to be refused')
    expect(connectedToB()).toBe(false)
  }, 60_000)
})
