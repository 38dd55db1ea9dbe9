/**
 * Bounded state from members' heads, between real nodes on 127.0.0.1. Any
 * admitted member can gossip, or serve over heads-sync, validly signed heads
 * of Hypercores it made up (helpers/made-up-cores.ts): the head log,
 * the first-head-per-length memory, the chain fetcher's maps and the fork
 * proofs kept must not grow with them past their bounds, and they must not
 * push out what the node needs: every chain it holds stays logged, and a
 * real equivocation is still caught after a flood between its two heads.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { bytesToHex, utf8ToBytes } from '@healthchain/core'
import { ForkRegistry } from '@healthchain/net/testing'
import { FORKS_TOPIC, HEADS_TOPIC, MAX_HEADS_PER_ANNOUNCEMENT, encodeAnyForkProof, encodeHeadsAnnouncement, headOf, type NetworkNode, type SignedHead } from '@healthchain/net'
import { twinChain, twinStore } from './helpers/equivocation.js'
import { madeUpForkProofs, madeUpHeads } from './helpers/made-up-cores.js'
import { converged, crypto, enrol, TestNet, waitFor, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** Publishes `heads` from `node` in announcements of the largest size. */
async function gossip (node: NetworkNode, heads: readonly SignedHead[]): Promise<void> {
  for (let i = 0; i < heads.length; i += MAX_HEADS_PER_ANNOUNCEMENT) {
    await node.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: heads.slice(i, i + MAX_HEADS_PER_ANNOUNCEMENT) }))
  }
}

/**
 * Waits until `node` has taken in `count` more heads than `before`, then until
 * every one of them is observed: a head handed to `receive` now is observed
 * after all of them (observations run one at a time, in arrival order).
 */
async function observedAll (node: NetworkNode, before: number, count: number, sentinel: SignedHead): Promise<void> {
  await waitFor(() => node.heads.stats.received >= before + count, `${count} heads to arrive`, 20_000)
  await node.heads.receive([sentinel])
}

const SMALL = { maxUnheldHeads: 32, maxUnheldFetches: 8, maxUnheldForks: 8 }

describe('a member flooding made-up cores', () => {
  it('by gossip and by heads-sync: at most the configured not-held chains are logged or wanted, and every held chain stays logged', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-m', 'examiner'], ['agency-q', 'inquirer']], cleanup)
    await net.start('hospital-a')
    const victim = await net.start('hospital-b', { heads: SMALL })
    const member = await net.start('hospital-m')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    await converged([victim], user.userId, 1, 'hospital-b to replicate the chain')
    const junk = await madeUpHeads(301, cleanup)
    const [sentinel, flood] = [junk[0]!, junk.slice(1)]

    const before = victim.heads.stats.received
    await gossip(member, flood)
    await observedAll(victim, before, flood.length, sentinel)
    // The held chain, plus at most 32 not-held chains (the flood's newest ones).
    expect(victim.heads.log.get(bytesToHex(chainKey))?.length).toBe(1)
    expect(victim.heads.log.size).toBeLessThanOrEqual(1 + SMALL.maxUnheldHeads)
    expect(victim.heads.log.get(bytesToHex(sentinel.key))).toEqual(sentinel)
    // A replicateAll node wants each new chain's genesis: at most 8 not-held chains queued, running or remembered as behind.
    expect(victim.heads.pendingFetches).toBeLessThanOrEqual(SMALL.maxUnheldFetches)
    expect(victim.heads.replicationLag().chainsBehind).toBeLessThanOrEqual(SMALL.maxUnheldFetches)
    expect(victim.heads.stats.dropped.log).toBeGreaterThanOrEqual(flood.length + 1 - SMALL.maxUnheldHeads)
    expect(victim.heads.stats.dropped.fetches).toBeGreaterThanOrEqual(flood.length - SMALL.maxUnheldFetches)

    // The member serves the flood on heads-sync: a node that connects later takes in every head, and keeps 32.
    await member.heads.receive(flood)
    expect(member.heads.log.size).toBeGreaterThan(flood.length)
    const late = await net.start('agency-q', { replicateAll: false, heads: SMALL }, ['hospital-m'])
    await observedAll(late, 0, flood.length, sentinel)
    expect(late.heads.stats.sync.synced).toBeGreaterThanOrEqual(1)
    expect(late.heads.log.size).toBeLessThanOrEqual(SMALL.maxUnheldHeads)
    expect(late.heads.pendingFetches).toBe(0)

    // A chain that becomes held is logged as held: more junk does not push it out.
    await victim.heads.receive(flood)
    expect(victim.heads.log.get(bytesToHex(chainKey))?.length).toBe(1)
  }, 90_000)

  it('fork proofs of made-up cores: at most the configured number kept, none of them written to disk', async () => {
    const net = await TestNet.create([['hospital-b', 'examiner'], ['hospital-m', 'examiner']], cleanup)
    const victim = await net.start('hospital-b', { heads: SMALL })
    const member = await net.start('hospital-m')
    await net.meshed()
    const proofs = await madeUpForkProofs(40, cleanup)
    for (const proof of proofs) await member.host.services.pubsub.publish(FORKS_TOPIC, encodeAnyForkProof(proof))
    const dropped = (): number => (victim.heads.stats.dropped?.forks ?? 0)
    await waitFor(() => victim.forks.length + dropped() >= proofs.length, 'every proof to be taken in', 20_000)
    expect(victim.forks.length).toBeLessThanOrEqual(SMALL.maxUnheldForks)
    expect(victim.isForked(proofs.at(-1)!.a.key)).toBe(true)
    expect(victim.heads.log.size).toBeLessThanOrEqual(SMALL.maxUnheldHeads)
    // Proofs of chains not held here are kept in memory only: the node's persisted fork registry holds none of them.
    await net.stop('hospital-b')
    const registry = await ForkRegistry.open(await net.ledger('hospital-b'), crypto)
    try {
      expect(registry.list()).toEqual([])
    } finally {
      await registry.close()
    }
  }, 60_000)

  it('a real equivocation is still caught when a flood of made-up heads arrives between its two heads', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-m', 'examiner']], cleanup)
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const victim = net.node('hospital-b')
    const member = net.node('hospital-m')
    const { user, chainKey, chain } = await enrol(net, 'hospital-a')
    await converged([victim], user.userId, 1, 'hospital-b to replicate the chain')

    // The custodian's key pair in two more stores: history X at lengths 3 and 4, history Y at 3. No node is served
    // either, so hospital-b's copy stays at length 1 and only the first head seen at length 3 can prove the fork.
    const genesis = new Uint8Array((await coreOf(chain).get(0))!)
    const x = await twinChain(await twinStore(net.node('hospital-a').ledger, cleanup), user, [genesis, utf8ToBytes('x1'), utf8ToBytes('x2')])
    const x3 = await headOf(x)
    await x.append(Buffer.from('x3'))
    const x4 = await headOf(x)
    const y3 = await headOf(await twinChain(await twinStore(net.node('hospital-a').ledger, cleanup), user, [genesis, utf8ToBytes('y1'), utf8ToBytes('y2')]))
    expect([x3.length, x4.length, y3.length]).toEqual([3, 4, 3])

    // More made-up heads than the first-head memory held at all (4,096) before it was bounded per kind.
    const junk = await madeUpHeads(4_501, cleanup)
    const [sentinel, flood] = [junk[0]!, junk.slice(1)]

    await gossip(member, [x3])
    await gossip(member, [x4])
    await waitFor(() => victim.heads.log.get(bytesToHex(chainKey))?.length === 4, 'hospital-b to log history X at length 4')
    const before = victim.heads.stats.received
    await gossip(member, flood)
    await observedAll(victim, before, flood.length, sentinel)
    expect(victim.isForked(chainKey)).toBe(false)

    await gossip(member, [y3])
    await waitFor(() => victim.isForked(chainKey), 'hospital-b to prove the fork', 10_000)
    const proof = victim.heads.forkOf(chainKey)!
    expect(proof.v).toBe(1)
    expect(proof.a.length).toBe(3)
    expect(new Set([bytesToHex(proof.a.root), bytesToHex(proof.b.root)])).toEqual(new Set([bytesToHex(x3.root), bytesToHex(y3.root)]))
    // The custodian is looked up from the genesis once the proof is recorded.
    await waitFor(() => victim.status().forkedChains[0]?.custodian === 'hospital-a', 'hospital-b to flag the custodian')
    expect(victim.status().forkedChains).toEqual([{ chain: bytesToHex(chainKey), length: 3, custodian: 'hospital-a' }])
  }, 120_000)
})
