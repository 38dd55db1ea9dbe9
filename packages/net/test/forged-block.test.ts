/**
 * A peer that serves a forged block is ignored, and the block is never
 * stored: hospital-m holds a replica whose block 3 was altered on its disk;
 * hospital-b, reaching only hospital-m, refuses that block (Hypercore checks
 * every block against the custodian's signed tree) and gets the chain only
 * once the custodian is back. Real nodes on 127.0.0.1, data on disk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { LedgerConsortium, enrolWithExams, coreOf } from '@healthchain/ledger/testing'
import { NetworkNode } from '@healthchain/net'
import { crypto, makeParty, waitFor, type Party } from '@healthchain/net/testing'

async function party (id: string): Promise<Party> {
  return await makeParty(id, 'examiner')
}

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** Overwrites a stored block through hypercore-storage 3.3's write batch (what a disk attacker could do). */
async function overwriteBlock (core: { state: unknown }, index: number, bytes: Uint8Array): Promise<void> {
  const storage = (core.state as { storage: { write (): { putBlock (i: number, b: Uint8Array): void, flush (): Promise<void> } } }).storage
  const tx = storage.write()
  tx.putBlock(index, bytes)
  await tx.flush()
}

describe('a peer serving a forged block', () => {
  it('is refused: the forged block is never stored, and the real one arrives from an honest peer', async () => {
    const [a, m, b] = await Promise.all([party('hospital-a'), party('hospital-m'), party('hospital-b')])
    // Every ledger follows the registry by its key, and is closed after the nodes.
    const c = await LedgerConsortium.create({
      parties: [a, m, b], name: 'Forged block test', prefix: 'healthchain-forged-', ledger: { crypto, verifyWorkers: 0 }, onCleanup: cleanup
    })
    const open = async (p: Party): Promise<Ledger> => await c.ledger(p.id)
    const start = async (ledger: Ledger, p: Party, bootstrap: Party): Promise<NetworkNode> => {
      const node = await NetworkNode.start({ ledger, privateKey: p.p2p, bootstrapPeers: [bootstrap.peer], replicateAll: false })
      cleanup.push(async () => { await node.stop() })
      return node
    }

    const ledgerA = await open(a)
    const registry = ledgerA.registry
    const { user, chainKey, chain } = await enrolWithExams(ledgerA, a, 5, crypto)

    // hospital-m replicates the chain honestly, then its copy of block 3 is altered on its disk.
    let nodeA = await start(ledgerA, a, a)
    const ledgerM = await open(m)
    const nodeM = await start(ledgerM, m, a)
    await nodeM.dial(nodeA.addresses[0]!)
    await waitFor(() => ledgerM.registry.length === registry.length, 'hospital-m to receive the registry')
    const { chain: copyM } = await nodeM.replication.fetchChain(user.userId, chainKey, { length: chain.length })
    await nodeA.stop()
    const genuine = (await coreOf(chain).get(3, { wait: false }))!
    const forged = new Uint8Array(genuine)
    forged[forged.length - 10]! ^= 0x01
    await overwriteBlock(coreOf(copyM) as unknown as { state: unknown }, 3, forged)
    expect(bytesToHex((await coreOf(copyM).get(3, { wait: false }))!)).toBe(bytesToHex(forged))

    // hospital-b can reach only hospital-m: the forged block is refused, never stored.
    const ledgerB = await open(b)
    const nodeB = await start(ledgerB, b, m)
    await nodeB.dial(nodeM.addresses[0]!)
    await waitFor(() => ledgerB.registry.length === registry.length, 'hospital-b to receive the registry')
    await expect(nodeB.replication.fetchChain(user.userId, chainKey, { length: chain.length, timeoutMs: 3_000 })).rejects.toBeDefined()
    const copyB = await ledgerB.chain(user.userId)
    // hospital-m did serve the chain (hospital-b learned its signed length), but not block 3 as forged.
    expect(coreOf(copyB).length).toBe(chain.length)
    expect(await coreOf(copyB).get(3, { wait: false })).toBeNull()
    expect(copyB.verifiedLength).toBeLessThanOrEqual(3)

    // The custodian is back: hospital-b gets the genuine block and the whole chain verifies.
    nodeA = await start(ledgerA, a, a)
    await nodeB.dial(nodeA.addresses[0]!)
    const { ingest } = await nodeB.replication.fetchChain(user.userId, chainKey, { length: chain.length })
    expect(ingest.problem).toBeUndefined()
    expect(bytesToHex((await coreOf(copyB).get(3, { wait: false }))!)).toBe(bytesToHex(genuine))
    expect((await ledgerB.verify(user.userId)).valid).toBe(true)
  }, 60_000)
})
