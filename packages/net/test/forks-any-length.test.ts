/**
 * Fork detection at any lengths, between real nodes on 127.0.0.1: a
 * custodian that signs one history at some lengths and another history at
 * other lengths never signs two roots at one length, yet the two cannot both
 * be true. Nodes holding one history prove it against a head of the other
 * (a Merkle consistency proof from the longer history's tree), and a node
 * whose Hypercore meets the other history while replicating (Hypercore's
 * `conflict`) proves it too. Either way every connected node flags the chain.
 */
import { afterEach, describe, expect, it } from 'vitest'
import Corestore from 'corestore'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@healthchain/core'
import { headOf, verifyAnyForkProof, type NetworkNode } from '@healthchain/net'
import { converged, enrol, TestNet, waitFor, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { appendAtOnce, blocksOf, examBlocks, seedTwinLedger, twinChain, twinStore } from './helpers/equivocation.js'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

type Enrolled = Awaited<ReturnType<typeof enrol>>

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A store of its own (not the custodian's keys), removed by the cleanup list. */
async function plainStore (): Promise<Corestore> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-plain-'))
  const store = new Corestore(dir)
  cleanup.push(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return store
}

/** Two stores replicating in this process until the test ends. */
function pipe (one: Corestore, two: Corestore): { one: ReturnType<Corestore['replicate']>, two: ReturnType<Corestore['replicate']> } {
  const s1 = one.replicate(true)
  const s2 = two.replicate(false)
  s1.pipe(s2).pipe(s1)
  cleanup.push(async () => {
    s1.destroy()
    s2.destroy()
  })
  return { one: s1, two: s2 }
}

describe('equivocation at different lengths', () => {
  it('history A signed at even lengths and history B at odd lengths: every connected node flags the fork, witnesses refuse the chain, and it is no longer fetched', async () => {
    const net = await TestNet.create([
      ['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner'], ['regulator-r', 'regulator'],
      ['hospital-m', 'examiner'], ['agency-q', 'inquirer']
    ], cleanup)
    const [a, b, c, r, m, q] = net.parties as [Party, Party, Party, Party, Party, Party]
    for (const p of [a, b, c, r]) await net.start(p.id)
    await net.meshed()
    const { user, chainKey, chain } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 2, 'every node to replicate the chain')

    // hospital-c is away while the custodian writes two blocks in one append: history A is signed at lengths 1, 2 and 4.
    await net.stop(c.id)
    const shared = await blocksOf(coreOf(chain), 2)
    expect(await appendAtOnce(chain, examBlocks(net, a, user, chainKey, 2, 2, 'history A'))).toBe(4)
    net.node(a.id).heads.announce(user.userId)
    await converged([b, r].map((p) => net.node(p.id)), user.userId, 4, 'hospital-b and the regulator to fetch history A')

    // The custodian's second node (hospital-m, same chain key pair) holds history B: the shared blocks, then another block 2.
    await seedTwinLedger(net, m.id, a.id, user, chainKey, [...shared, ...examBlocks(net, a, user, chainKey, 2, 1, 'history B')])
    // hospital-c comes back connected to hospital-m alone, and is shown history B (length 3).
    const nodeC = await net.start(c.id, {}, [])
    const nodeM = await net.start(m.id, {}, [c.id])
    await net.meshed([c.id, m.id])
    nodeM.heads.announce(user.userId)
    await converged([nodeC], user.userId, 3, 'hospital-c to fetch history B')
    // No two heads of one length disagree: the lengths signed are 1, 2, 4 (A) and 1, 2, 3 (B).
    for (const node of net.nodes) expect(node.isForked(chainKey)).toBe(false)

    // hospital-c meets hospital-b: each holds one history, and the other's head cannot be true with it.
    await nodeC.dial(net.node(b.id).addresses[0]!)
    const connected = [a, b, c, r, m].map((p) => net.node(p.id))
    await waitFor(() => connected.every((n) => n.isForked(chainKey) && n.status().forkedChains[0]?.custodian === a.id), 'every connected node to flag the fork', 20_000)
    // A consistency proof: history B's head at 3, history A's head at 4 with the nodes of its tree that give 3 another root.
    const regulator = net.node(r.id)
    const headA = await headOf(await regulator.ledger.chain(user.userId))
    const headB = await headOf(await nodeM.ledger.chain(user.userId))
    expect([headB.length, headA.length]).toEqual([3, 4])
    for (const node of connected) {
      const proof = node.forks[0]!
      expect(node.forks).toHaveLength(1)
      expect(proof.v).toBe(2)
      expect(verifyAnyForkProof(proof)).toBe(true)
      expect(proof.a).toEqual(headB)
      expect(proof.b).toEqual(headA)
      expect(node.status().forkedChains).toEqual([{ chain: bytesToHex(chainKey), length: 3, custodian: a.id }])
    }

    // The regulator's witness will not cosign the chain at any length, even history A it verified itself.
    expect(await regulator.witness!.consider(headA)).toEqual({ cosigned: false, reason: 'FORKED' })

    // The custodian goes on writing history A: hospital-b logs the head but fetches nothing more of a forked chain.
    const nodeB = net.node(b.id)
    const skipped = nodeB.heads.stats.skippedForked
    await appendAtOnce(await net.node(a.id).ledger.chain(user.userId), examBlocks(net, a, user, chainKey, 4, 1, 'history A'))
    net.node(a.id).heads.announce(user.userId)
    await waitFor(() => nodeB.heads.stats.skippedForked > skipped, 'hospital-b to skip the forked chain\'s next head')
    expect(nodeB.heads.pendingFetches).toBe(0)
    expect((await nodeB.ledger.chain(user.userId)).verifiedLength).toBe(4)

    // A node that was not there, and holds no chain to compare with, learns the fork by reconciliation alone.
    const late = await net.start(q.id, { replicateAll: false }, [b.id])
    await waitFor(() => late.isForked(chainKey), 'the late node to learn the fork from hospital-b')
    expect(late.ledger.hasChain(user.userId)).toBe(false)
    expect(late.heads.stats.sync.proofs).toBeGreaterThanOrEqual(1)
    expect(late.forks[0]).toEqual(nodeB.forks[0])
  }, 60_000)
})

describe('heads held against the node\'s own copy', () => {
  /** A custodian (hospital-a) with a chain of 2 blocks, replicated at hospital-b; and history B's head at 3, never served to anyone. */
  async function setUp (): Promise<{ net: TestNet, a: Party, replica: NetworkNode, headB: Awaited<ReturnType<typeof headOf>> } & Enrolled> {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const enrolled = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, enrolled.user, enrolled.chainKey)
    await converged([net.node(b.id)], enrolled.user.userId, 2, 'hospital-b to replicate the chain')
    const store = await twinStore(net.node(a.id).ledger, cleanup)
    const twin = await twinChain(store, enrolled.user, [...await blocksOf(coreOf(enrolled.chain), 2), ...examBlocks(net, a, enrolled.user, enrolled.chainKey, 2, 1, 'history B')])
    return { net, a, replica: net.node(b.id), headB: await headOf(twin), ...enrolled }
  }

  it('a head shorter than the copy, which the copy\'s tree contradicts, is proven a fork with the copy\'s own nodes', async () => {
    const { net, a, replica, headB, user, chainKey, chain } = await setUp()
    // History A gets blocks 2 and 3 in one append: it is never signed at length 3.
    await appendAtOnce(chain, examBlocks(net, a, user, chainKey, 2, 2, 'history A'))
    net.node(a.id).heads.announce(user.userId)
    await converged([replica], user.userId, 4, 'hospital-b to fetch history A')

    await replica.heads.receive([headB])
    await waitFor(() => replica.isForked(chainKey), 'hospital-b to prove the fork from its own copy')
    const proof = replica.forks[0]!
    expect(proof.v).toBe(2)
    expect(verifyAnyForkProof(proof)).toBe(true)
    expect(proof.a).toEqual(headB)
    expect(proof.b).toEqual(await headOf(await replica.ledger.chain(user.userId)))
    expect(replica.heads.stats.conflicts.seen).toBe(0)
  })

  it('a head longer than the copy waits, and is proven a fork once a fetch has brought the copy past it', async () => {
    const { net, a, replica, headB, user, chainKey, chain } = await setUp()
    // Longer than hospital-b's copy (2): nothing to compare with yet.
    await replica.heads.receive([headB])
    expect(replica.isForked(chainKey)).toBe(false)

    // The custodian then writes history A to length 4 in one append; hospital-b fetches it and holds the waiting head against it.
    await appendAtOnce(chain, examBlocks(net, a, user, chainKey, 2, 2, 'history A'))
    net.node(a.id).heads.announce(user.userId)
    await waitFor(() => replica.isForked(chainKey), 'hospital-b to prove the fork once its copy reached length 4')
    const proof = replica.forks[0]!
    expect(proof.v).toBe(2)
    expect(verifyAnyForkProof(proof)).toBe(true)
    expect([proof.a, proof.b.length]).toEqual([headB, 4])
    expect(replica.heads.stats.conflicts.seen).toBe(0)
  })
})

describe('Hypercore conflicts become fork proofs', () => {
  /** A custodian (hospital-a) and a replica (hospital-b) of a chain of `length` blocks, written one at a time. */
  async function replicated (length: number): Promise<{ net: TestNet, a: Party, replica: NetworkNode, custodian: NetworkNode } & Enrolled> {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const enrolled = await enrol(net, a.id)
    for (let i = 1; i < length; i++) await writeExam(net.node(a.id), a, enrolled.user, enrolled.chainKey)
    await converged([net.node(b.id)], enrolled.user.userId, length, 'hospital-b to replicate the chain')
    return { net, a, replica: net.node(b.id), custodian: net.node(a.id), ...enrolled }
  }

  it('a replica whose core meets a longer conflicting history while fetching flags the fork, and its chain stays readable', async () => {
    const { net, a, replica, custodian, user, chainKey, chain } = await replicated(3)
    // History B, length 4, in a store with the custodian's keys, replicating straight into hospital-b's store.
    const store = await twinStore(custodian.ledger, cleanup)
    const twin = await twinChain(store, user, [...await blocksOf(coreOf(chain), 2), ...examBlocks(net, a, user, chainKey, 2, 2, 'history B')])
    // Taken now: the twin's own core meets the conflict too once hospital-b tells it, and hypercore closes it.
    const headB = await headOf(twin)
    const held = coreOf(await replica.ledger.chain(user.userId))
    const conflicts: number[] = []
    // Verifications asked for while Hypercore closes the core (before the ledger has let it go): of the chain from disk, not of a closed core.
    const during: Array<Promise<{ length: number, valid: boolean }>> = []
    const verifyNow = (): void => { during.push(replica.ledger.verify(user.userId).then(({ length, valid }) => ({ length, valid }))) }
    held.on('conflict', (length) => { conflicts.push(length); verifyNow() })
    held.on('close', verifyNow)
    held.replicate(pipe(store, storeOf(replica.ledger)).two)

    // hospital-b is told of history B's head: longer than its copy, so nothing to compare yet; it fetches, and Hypercore finds the conflict.
    await replica.heads.receive([headB])
    await waitFor(() => replica.isForked(chainKey), 'hospital-b to flag the fork its Hypercore found', 15_000)
    expect(conflicts).toEqual([3])
    expect(await Promise.all(during)).toEqual([{ length: 3, valid: true }, { length: 3, valid: true }])
    expect(replica.heads.stats.conflicts).toEqual({ seen: 1, proven: 1, unproven: 0 })
    // Its own head at 3 against history B's at 4, with the nodes Hypercore was sent.
    const proof = replica.forks[0]!
    expect(proof.v).toBe(2)
    expect(verifyAnyForkProof(proof)).toBe(true)
    expect(proof.a.root).toEqual((await headOf(chain)).root)
    expect(proof.b).toEqual(headB)
    await waitFor(() => custodian.isForked(chainKey), 'the custodian\'s node to learn the fork by gossip')

    // The chain Hypercore closed is opened again from disk: still readable (entries after the genesis), and said to be forked.
    const read = await replica.read(user.userId)
    expect(read.verifiedLength).toBe(3)
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2])
    expect(read.fork).toEqual(proof)
  }, 30_000)

  it('a replica that holds the longer history and is sent a shorter conflicting one (Hypercore\'s conflict push) flags the fork from its own tree', async () => {
    const { net, a, replica, user, chainKey, chain, custodian } = await replicated(4)
    // History B, length 3, written by the custodian's keys and held by an ordinary replica elsewhere.
    const store = await twinStore(custodian.ledger, cleanup)
    const twin = await twinChain(store, user, [...await blocksOf(coreOf(chain), 2), ...examBlocks(net, a, user, chainKey, 2, 1, 'history B')])
    const headB = await headOf(twin)
    const other = await plainStore()
    const otherCore = other.get({ key: chainKey })
    await otherCore.ready()
    pipe(store, other)
    await otherCore.update({ wait: true })
    expect(otherCore.length).toBe(3)

    // That replica asks hospital-b for more: hospital-b's answer conflicts with what it has, so it sends hospital-b
    // its own signed roots at length 3, which conflict with hospital-b's history A at length 4.
    const held = coreOf(await replica.ledger.chain(user.userId))
    const conflicts: number[] = []
    held.on('conflict', (length) => { conflicts.push(length) })
    held.replicate(pipe(other, storeOf(replica.ledger)).two)
    otherCore.update({ wait: true }).catch(() => {})
    await waitFor(() => replica.isForked(chainKey), 'hospital-b to flag the fork its Hypercore was sent', 15_000)
    expect(conflicts).toEqual([3])
    expect(replica.heads.stats.conflicts).toEqual({ seen: 1, proven: 1, unproven: 0 })
    // History B's head at 3 against its own head at 4, with the nodes read from its own tree after Hypercore closed it.
    const proof = replica.forks[0]!
    expect(proof.v).toBe(2)
    expect(verifyAnyForkProof(proof)).toBe(true)
    expect(proof.a).toEqual(headB)
    expect(proof.b).toEqual(await headOf(chain))
    const read = await replica.read(user.userId)
    expect(read.verifiedLength).toBe(4)
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2, 3])
  }, 30_000)
})
