/**
 * A node that holds nothing of a user joins after the user's chain moved:
 * its first reconciliations bring, at once, the head of the core the chain
 * left (peers log it at N) and the head of the continuation. Two fetches of
 * one user then run side by side, each not knowing of the other: the one
 * that takes the user in must not make the other fail for good. The node
 * must hold each chain as its continuation, verified whole, from those
 * first reconciliations — before the periodic one (30 s) could bring the
 * heads again — and its catalog must name one chain per user (an older core
 * only as closed at N). Many users at once, so that the two fetches of a
 * user overlap. Real nodes on 127.0.0.1, data on disk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildMigrate, bytesToHex, signEntry, type UserKeys } from '@healthchain/core'
import type { NetworkNode } from '@healthchain/net'
import { crypto, enrol, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const USERS = 20

/** `node` takes the user's chain over: its offer, the user's migrate for it, continueChain. */
async function transfer (node: NetworkNode, user: UserKeys): Promise<{ key: Uint8Array, length: number }> {
  const offer = await node.ledger.offerContinuation(user.userId)
  const migrate = signEntry(buildMigrate(offer.plain, {}, crypto), { chainKey: offer.key, seq: offer.length }, user.sign.secretKey, crypto)
  const chain = await node.ledger.continueChain(user.userId, migrate)
  return { key: chain.key, length: offer.length }
}

/** Whether the node serves the user's chain as the core `key`, verified to `length`. */
async function follows (node: NetworkNode, user: UserKeys, key: Uint8Array, length: number): Promise<boolean> {
  const chain = await node.ledger.chain(user.userId).catch(() => undefined)
  return chain !== undefined && bytesToHex(chain.key) === bytesToHex(key) && chain.verifiedLength >= length
}

describe('a node that joins after chains moved', () => {
  it('takes each chain as its continuation from its first reconciliations, one chain per user in its catalog', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator', 'regulator']], cleanup)
    const nodeA = await net.start('hospital-a')
    const nodeB = await net.start('hospital-b')
    await net.meshed()
    const chains: Array<{ user: UserKeys, from: Uint8Array, to: Uint8Array }> = []
    for (let i = 0; i < USERS; i++) {
      const { user, chainKey } = await enrol(net, 'hospital-a')
      await writeExam(nodeA, net.party('hospital-a'), user, chainKey)
      await waitFor(async () => await follows(nodeB, user, chainKey, 2), `hospital-b to hold chain ${i} complete`)
      const moved = await transfer(nodeB, user)
      expect(moved.length).toBe(2)
      await writeExam(nodeB, net.party('hospital-b'), user, moved.key)
      chains.push({ user, from: chainKey, to: moved.key })
    }
    for (const { user, to } of chains) await waitFor(async () => await follows(nodeA, user, to, 4), 'hospital-a to follow every continuation')

    const late = await net.start('regulator')
    try {
      await waitFor(async () => (await Promise.all(chains.map(async ({ user, to }) => await follows(late, user, to, 4)))).every(Boolean),
        'the late node to follow every continuation', 20_000)
    } finally {
      // Two fetches of one user that ran side by side: neither may have been refused because the other took the user in.
      const failed = Object.fromEntries(late.heads.stats.fetch.failed)
      expect(failed.INVALID_FIELD ?? 0, JSON.stringify(failed)).toBe(0)
      expect(failed.ALREADY_ENROLLED ?? 0, JSON.stringify(failed)).toBe(0)
    }
    for (const { user, from, to } of chains) {
      expect(late.ledger.userOfChain(to)).toBe(user.userId)
      // The core the chain left is not held as a chain of its own: held nowhere, or closed at N with the continuation as successor.
      const closed = late.ledger.closedChain(from)
      if (closed === undefined) expect(late.ledger.userOfChain(from), 'an older core held as a chain').toBeUndefined()
      else expect([closed.length, bytesToHex(closed.successor)]).toEqual([2, bytesToHex(to)])
      const report = await late.ledger.verify(user.userId)
      expect(report.valid, JSON.stringify(report.problems)).toBe(true)
    }
  }, 120_000)
})
