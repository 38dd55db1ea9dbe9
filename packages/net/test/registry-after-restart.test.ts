/**
 * A node that was down while the registry changed gets the change when it
 * comes back, whether it reopens its ledger (a restart) or only its network.
 * Found by the lifecycle invariants: a restarted node's registry core is
 * opened passive, and Hypercore closed its channel as soon as it opened, so
 * the node waited for the registry for ever. Real nodes on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('the registry after a node was away', () => {
  it('reaches a node restarted after missing an entry, and one whose network only was down', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator'], ['hospital-m', 'examiner']], cleanup)
    await net.start('hospital-a')
    await net.start('hospital-b')
    await net.start('regulator')

    // Restarted: ledger and network.
    await net.stop('hospital-b')
    await net.closeLedger('hospital-b')
    const suspended = await net.setStatus('hospital-m', 'suspend')
    const b = await net.start('hospital-b')
    expect(b.ledger.registry.length).toBe(suspended)
    expect(b.ledger.registry.state.institutionAt('hospital-m')?.status).toBe('suspended')

    // Network only: the ledger stayed open.
    await net.stop('regulator')
    const reinstated = await net.setStatus('hospital-m', 'reinstate')
    const regulator = await net.start('regulator')
    await waitFor(() => regulator.ledger.registry.length === reinstated, 'the regulator to receive the reinstatement')
    // And a change made while everyone runs reaches both.
    const again = await net.setStatus('hospital-m', 'suspend')
    await waitFor(() => b.ledger.registry.length === again && regulator.ledger.registry.length === again, 'the next change to reach both')
  }, 60_000)
})
