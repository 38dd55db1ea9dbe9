/**
 * Erasure across the network: after a user erases an entry, every replica,
 * a fresh replica and the user's own phone keep replicating the chain — no
 * one waits for data that no node serves any more — and no node serves the
 * erased content again, not even after it met a peer that had not cleared
 * its copy yet. Real nodes on 127.0.0.1, data on disk.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { buildErasure, signEntry, type UserKeys } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer, type NetworkNode } from '@healthchain/net'
import { crypto, enrol, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function erase (node: NetworkNode, user: UserKeys, chainKey: Uint8Array, positions: number[]): Promise<number> {
  const unsigned = buildErasure(positions, {}, crypto)
  const { seq } = await node.append(user.userId, (at) => signEntry(unsigned, { chainKey, seq: at }, user.sign.secretKey, crypto))
  return seq
}

/** Waits until the node has verified the chain up to `length`. */
async function verifiedAt (node: NetworkNode, user: UserKeys, length: number, what: string): Promise<void> {
  await waitFor(async () => (await node.ledger.chain(user.userId).catch(() => undefined))?.verifiedLength === length, `${what} to verify ${length} entries`, 15_000)
}

/** Whether the node still has the data of any of `positions`, or serves it. */
async function holdsAny (node: NetworkNode, user: UserKeys, positions: number[]): Promise<boolean> {
  const chain = await node.ledger.chain(user.userId)
  for (const seq of positions) if (await coreOf(chain).get(seq, { wait: false }) !== null) return true
  const served = (await node.read(user.userId)).entries.map((e) => e.seq)
  return positions.some((seq) => served.includes(seq))
}

describe('erasure over the network', () => {
  it('replicas, a new replica and the user\'s phone keep replicating after an erasure, and never get the erased data back', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator'], ['hospital-c', 'examiner']], cleanup)
    const a = await net.start('hospital-a', { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] })
    let b = await net.start('hospital-b')
    const regulator = await net.start('regulator')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    for (let i = 0; i < 4; i++) await writeExam(a, net.party('hospital-a'), user, chainKey)
    await verifiedAt(b, user, 5, 'hospital-b')
    await verifiedAt(regulator, user, 5, 'the regulator')

    // hospital-b goes away holding position 2's data; the user erases it meanwhile.
    await net.stop('hospital-b')
    const erasure = await erase(a, user, chainKey, [2])
    expect(erasure).toBe(5)
    await writeExam(a, net.party('hospital-a'), user, chainKey)
    await verifiedAt(regulator, user, 7, 'the regulator')
    expect(await holdsAny(regulator, user, [2])).toBe(false)

    // hospital-b comes back, still holding the erased data: it catches up and clears it, and the others never take it back.
    b = await net.start('hospital-b')
    await verifiedAt(b, user, 7, 'hospital-b')
    await writeExam(a, net.party('hospital-a'), user, chainKey)
    for (const [node, name] of [[a, 'hospital-a'], [b, 'hospital-b'], [regulator, 'the regulator']] as const) {
      await verifiedAt(node, user, 8, name)
    }

    // A replica that never held the chain gets everything but the erased block.
    const c = await net.start('hospital-c')
    await verifiedAt(c, user, 8, 'hospital-c')

    // The user's phone syncs over WebSockets, erasure included.
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-phone-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const phoneLedger = await Ledger.open({ dir, crypto, verifyWorkers: 0 })
    cleanup.push(async () => { await phoneLedger.close() })
    const phone = await LightPeer.start({ ledger: phoneLedger, registryKey: net.registryKey, user: user.sign, bootstrapPeers: [a.peerId] })
    cleanup.push(async () => { await phone.stop() })
    await phone.connect(a.addresses.find((address) => address.includes('/ws'))!)
    // The phone trusts a head the regulator cosigned (a majority of one); the test registry lists no addresses, so it is told the regulator's.
    const witness = { nodes: [regulator.addresses.find((address) => !address.includes('/ws'))!] }
    const synced = await phone.sync(chainKey, { timeoutMs: 20_000, ...witness })
    expect(synced.witnessed?.head.length).toBe(8)
    expect(synced.ingest.problem).toBeUndefined()
    expect(synced.chain.verifiedLength).toBe(8)
    expect((await phone.read({ start: 0 })).map((e) => e.seq)).toEqual([0, 1, 3, 4, 5, 6, 7])
    await writeExam(a, net.party('hospital-a'), user, chainKey)
    // A sync asks the node for its newest length; one made right after an append may not see it yet: sync again.
    const witnessedLength = async (): Promise<number | undefined> => (await phone.sync(chainKey, { timeoutMs: 20_000, ...witness })).witnessed?.head.length
    await waitFor(async () => await witnessedLength() === 9, 'the phone to verify the entry after the erasure', 30_000)

    for (const [node, name] of [[a, 'hospital-a'], [b, 'hospital-b'], [regulator, 'the regulator'], [c, 'hospital-c']] as const) {
      await verifiedAt(node, user, 9, name)
      expect(await holdsAny(node, user, [2]), `${name} holds or serves the erased entry`).toBe(false)
      const report = await node.ledger.verify(user.userId)
      expect(report.valid, `${name}: ${JSON.stringify(report.problems)}`).toBe(true)
    }
    expect(await phone.read({ start: 0 }).then((entries) => entries.some((e) => e.seq === 2))).toBe(false)
  }, 120_000)
})
