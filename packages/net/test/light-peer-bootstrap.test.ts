/**
 * A device's bootstrap peer while the registry arrives block by block. A
 * fresh phone failed once in CI with NO_PEER right after `connect`: its
 * copy held the consortium and hospital-a's admission but not yet that of
 * hospital-b, the node it was fetching from, and the gate (then: bootstrap
 * peers only while the copy holds one block) no longer counted hospital-b
 * as a node. Here that state is made on purpose — a copy that knows the
 * registry's signed length but holds only its first blocks — and a phone
 * in it must connect, find its chain and sync; once the registry is
 * received, a bootstrap peer it names suspended or not at all is refused,
 * also while a later block is on its way. Real nodes on 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { LightPeer, MembershipGate } from '@healthchain/net'
import { copyRegistry, crypto, enrol, makeParty, TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'
import { tcpAddressOf } from './helpers/light-phone.js'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A device's ledger following the registry, with nothing of it yet. */
async function deviceLedger (net: TestNet): Promise<Ledger> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-bootstrap-'))
  cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
  const ledger = await Ledger.open({ dir, crypto, verifyWorkers: 0 })
  cleanup.push(async () => { await ledger.close() })
  await ledger.followRegistry(net.registryKey)
  return ledger
}

describe('a light peer\'s bootstrap peer while the registry arrives', () => {
  it('a device holding the registry only in part still takes its bootstrap peer for a node: connects, finds its chain and syncs', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const alice = await enrol(net, 'hospital-a')
    await waitFor(async () => b.ledger.hasChain(alice.user.userId) && (await b.ledger.chain(alice.user.userId)).user !== undefined, 'hospital-b to verify the genesis')

    // A fresh device's phone; then the consortium and hospital-a's admission arrive and are applied, and
    // hospital-b's is known to exist (the signed length) but not here yet.
    const ledger = await deviceLedger(net)
    await copyRegistry(ledger, a.ledger, 2, { apply: false })
    const phone = await LightPeer.start({ ledger, registryKey: net.registryKey, user: alice.user.sign, bootstrapPeers: [b.peerId] })
    cleanup.push(async () => { await phone.stop() })
    expect(ledger.registry.length).toBe(0)
    await ledger.registry.refresh()
    expect(ledger.registry.length).toBe(2)
    expect(ledger.registry.core.length).toBe(a.ledger.registry.length)
    expect(ledger.registry.state.institutionAt('hospital-b')).toBeUndefined()

    expect(phone.gate.admits(b.peerId)).toBe(true)
    // hospital-a is a node by its admission, already applied; a peer neither named nor a bootstrap peer is not.
    expect(phone.gate.admits(a.peerId)).toBe(true)
    expect(phone.gate.admits((await makeParty('stranger', 'examiner')).peer)).toBe(false)

    await phone.connect(tcpAddressOf(b))
    const found = await phone.findChainKey()
    expect(bytesToHex(found.chainKey)).toBe(bytesToHex(alice.chainKey))
    expect(found.custodian).toBe('hospital-a')

    const { chain } = await phone.sync(alice.chainKey, { quorum: 0 })
    expect(chain.verifiedLength).toBe(1)
    // Received: hospital-b is a node by its admission now, and stays connected.
    expect(ledger.registry.length).toBe(a.ledger.registry.length)
    expect(phone.gate.admits(b.peerId)).toBe(true)
    expect(phone.host.getConnections().map((c) => c.remotePeer.toString())).toContain(b.peerId)
  })

  it('once the registry is received, a bootstrap peer it names suspended or not at all is refused, also while a later block is on its way', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-m', 'examiner']], cleanup)
    const a = await net.start('hospital-a')
    const b = await net.start('hospital-b')
    const alice = await enrol(net, 'hospital-a')
    await net.setStatus('hospital-b', 'suspend')
    const stranger = (await makeParty('stranger', 'examiner')).peer

    const ledger = await deviceLedger(net)
    const gate = new MembershipGate(ledger.registry, { bootstrapPeers: [b.peerId, stranger] })
    cleanup.push(async () => { gate.close() })
    // Part-way, hospital-b not named yet: bootstrap trust holds for both.
    await copyRegistry(ledger, a.ledger, 2)
    expect([gate.admits(b.peerId), gate.admits(stranger)]).toEqual([true, true])

    // Still part-way (a later block known, not here), but hospital-b's suspension applied: it is judged by that at once.
    const grown = await net.setStatus('hospital-m', 'suspend')
    await copyRegistry(ledger, a.ledger, grown - 1)
    expect(ledger.registry.state.institutionAt('hospital-b')?.status).toBe('suspended')
    expect(ledger.registry.core.length).toBe(grown)
    expect([gate.admits(b.peerId), gate.admits(stranger)]).toEqual([false, true])

    // Received: the registry alone decides.
    await copyRegistry(ledger, a.ledger)
    expect(ledger.registry.length).toBe(grown)
    expect([gate.admits(b.peerId), gate.admits(stranger)]).toEqual([false, false])

    // The registry grows; this copy learns the new signed length before the block: no way back in meanwhile.
    const again = await net.setStatus('hospital-m', 'reinstate')
    await copyRegistry(ledger, a.ledger, grown)
    expect([ledger.registry.length, ledger.registry.core.length]).toEqual([grown, again])
    expect([gate.admits(b.peerId), gate.admits(stranger)]).toEqual([false, false])
    // Nor for a gate made on that copy (a device reopened while the block is on its way).
    const reopened = new MembershipGate(ledger.registry, { bootstrapPeers: [b.peerId, stranger] })
    cleanup.push(async () => { reopened.close() })
    expect([reopened.admits(b.peerId), reopened.admits(stranger)]).toEqual([false, false])

    // A phone on that copy cannot reach its suspended bootstrap peer.
    const phone = await LightPeer.start({ ledger, registryKey: net.registryKey, user: alice.user.sign, bootstrapPeers: [b.peerId] })
    cleanup.push(async () => { await phone.stop() })
    // Refused by this device's own gate before any handshake (libp2p's DialDeniedError).
    await expect(phone.connect(tcpAddressOf(b))).rejects.toMatchObject({ name: 'DialDeniedError' })
    expect(phone.host.getConnections()).toEqual([])
  })
})
