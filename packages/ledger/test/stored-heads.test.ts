/**
 * Ledger.storedHeads: each held chain's signed head as stored — custodian's
 * and replica's — read without opening a chain, the same head an open core
 * gives, and one that verifies against the chain key alone; with how many
 * blocks from 0 are held, which is less where a replica's fetch was cut
 * short after Hypercore had stored the longer head.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { bytesToHex, equal, type UserId } from '@healthchain/core'
import { coreKeyOfSigner, storedHead, storedTreeHash, treeSignable, type Ledger, type StoredChainHead, type StoredSignedHead } from '../src/index.js'
import { crypto, enrol, link, makeConsortium, newUser, within, writeExam, type TestConsortium } from './helpers/consortium.js'

let c: TestConsortium
afterEach(async () => { await c.cleanup() })

/** Whether `head` is its custodian's valid signature over (key, root, length, fork), the signer owning the key. */
function verifies (head: StoredSignedHead): boolean {
  return equal(coreKeyOfSigner(head.signer), head.key) && crypto.verify(treeSignable(head.key, head.root, head.length, head.fork), head.sig, head.signer)
}

/** A head as comparable data (Buffer or Uint8Array alike). */
function plain (head: StoredSignedHead | undefined): Record<string, string | number> | undefined {
  if (head === undefined) return undefined
  const { key, signer, length, fork, root, sig } = head
  return { key: bytesToHex(key), signer: bytesToHex(signer), length, fork, root: bytesToHex(root), sig: bytesToHex(sig) }
}

/** The head of the open chain: the stored head plus the tree hash rebuilt from its stored nodes. */
async function openHead (ledger: Ledger, user: UserId): Promise<StoredSignedHead> {
  const chain = await ledger.chain(user)
  const head = storedHead(coreOf(chain))!
  return { ...head, root: await storedTreeHash(coreOf(chain), head.length) }
}

describe('stored heads', () => {
  it('reads every held chain\'s signed head without opening it: custodian and replica, each verifying; a user not held is undefined', async () => {
    c = await makeConsortium({ verifyWorkers: 0 })
    const { hospitalA: a } = c.institutions
    const alice = newUser()
    const bob = newUser()
    const aliceChain = await enrol(c.ledger, alice)
    await enrol(c.ledger, bob)
    await writeExam(c.ledger, aliceChain, a)
    await writeExam(c.ledger, aliceChain, a)
    await aliceChain.settled()
    expect(await c.ledger.closeIdle(0)).toBe(2)

    const stranger = newUser()
    const stored = await c.ledger.storedHeads([alice.userId, bob.userId, stranger.userId])
    expect(c.ledger.openChainCount).toBe(0)
    expect([...stored.keys()]).toEqual([alice.userId, bob.userId, stranger.userId])
    expect(stored.get(stranger.userId)).toBeUndefined()
    expect(stored.get(alice.userId)).toMatchObject({ head: { key: aliceChain.key, length: 3, fork: 0 }, contiguousLength: 3 })
    expect(stored.get(bob.userId)).toMatchObject({ head: { length: 1 }, contiguousLength: 1 })
    for (const user of [alice.userId, bob.userId]) {
      const { head } = stored.get(user)!
      expect(verifies(head)).toBe(true)
      // The head a peer would get from the open chain, byte for byte.
      expect(plain(head)).toEqual(plain(await openHead(c.ledger, user)))
    }
    expect((await c.ledger.storedHeads([])).size).toBe(0)

    // A replica's stored head is the custodian's signature for what it fetched, and stays there while the custodian moves on.
    const peer = await c.openPeer('hospital-b', { institution: c.institutions.hospitalB.id, verifyWorkers: 0 })
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      const replica = await peer.replicaOf(alice.userId, aliceChain.key)
      await wire.fetch(coreOf(replica), 3)
      await replica.ingest()
    } finally {
      wire.destroy()
    }
    await writeExam(c.ledger, await c.ledger.chain(alice.userId), a)
    await peer.closeIdle(0)
    const atPeer = (await peer.storedHeads([alice.userId, bob.userId])).get(alice.userId)!
    expect(peer.openChainCount).toBe(0)
    expect(plain(atPeer.head)).toEqual(plain(stored.get(alice.userId)!.head))
    expect(atPeer.contiguousLength).toBe(3)
    expect(verifies(atPeer.head)).toBe(true)
    expect((await peer.storedHeads([bob.userId])).get(bob.userId)).toBeUndefined()
  })

  it('a replica that has the longer head but not yet its blocks: the head is stored, the blocks held and checked say how far it really is', async () => {
    c = await makeConsortium({ verifyWorkers: 0 })
    const alice = newUser()
    const chain = await enrol(c.ledger, alice)
    for (let i = 0; i < 3; i++) await writeExam(c.ledger, chain, c.institutions.hospitalA)
    const peer = await c.openPeer('hospital-b', { institution: c.institutions.hospitalB.id, verifyWorkers: 0 })
    await peer.followRegistry(c.ledger.registry.key)
    const wire = link(c.ledger, peer)
    try {
      await wire.fetch(peer.registry.core, c.ledger.registry.core.length)
      const replica = await peer.replicaOf(alice.userId, chain.key)
      coreOf(replica).replicate(wire.responder)
      // The signed head for length 4 arrives first (an upgrade); only blocks 0 and 1 follow.
      await within(coreOf(replica).update({ wait: true }), 10_000, 'the upgrade')
      await within(coreOf(replica).download({ start: 0, end: 2 }).done(), 10_000, 'two blocks')
      expect(coreOf(replica).length).toBe(4)
      // Held but not checked yet (a fetch stopped, or the process killed, before ingest): they do not count.
      expect((await peer.storedHeads([alice.userId])).get(alice.userId)!.contiguousLength).toBe(0)
      expect((await replica.ingest()).added).toBe(2)
    } finally {
      wire.destroy()
    }
    await peer.closeIdle(0)
    const stored: StoredChainHead = (await peer.storedHeads([alice.userId])).get(alice.userId)!
    expect(stored.head.length).toBe(4)
    expect(stored.contiguousLength).toBe(2)
    expect(verifies(stored.head)).toBe(true)
  })

  it('copies what it keeps: no head holds a view into the storage records read (a writer\'s holds its secret key)', async () => {
    c = await makeConsortium({ verifyWorkers: 0 })
    const alice = newUser()
    await enrol(c.ledger, alice)
    await c.ledger.closeIdle(0)
    const { head } = (await c.ledger.storedHeads([alice.userId])).get(alice.userId)!
    for (const part of [head.signer, head.root, head.sig]) expect(part.buffer.byteLength).toBe(128)
  })
})
