/**
 * Heads known before a restart are not forgotten. Real nodes on 127.0.0.1,
 * real Hypercores on disk; a restart from the same data directory models
 * what a crash does to memory (and one test kills a node's process with
 * SIGKILL). Each time a replica misses appends — stopped while they were
 * made, or made without an announcement — and every node involved is
 * restarted or reconnected. Once quiet, the replica must reach the
 * custodian's length, and once it has reconciled with a peer that holds the
 * longer chain, its reported replication lag must count every block it
 * still lacks.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  buildExam, buildGenesis, bytesToHex, encodeEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase, type UserId, type UserKeys
} from '@healthchain/core'
import { HEADS_TOPIC, headOf, type NetworkNode } from '@healthchain/net'
import type { NodeProcess } from './fixtures/net-node-process.js'
import { childNode } from './helpers/child-node.js'
import { crypto, enrol, TestNet, waitFor, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** What a replica should reach: each user's chain at the custodian's length. */
type Targets = Map<UserId, number>

/** Verified length of `user`'s chain at `node` (0 if not held). */
async function verifiedAt (node: NetworkNode, user: UserId): Promise<number> {
  return node.ledger.hasChain(user) ? (await node.ledger.chain(user)).verifiedLength : 0
}

/**
 * Waits until `node` holds every chain of `targets` verified to its length.
 * Once it has learned the longer heads — when it has completed more heads
 * reconciliations than `syncedBefore` (so it has asked the peers that hold
 * them), or at once if the test handed them over itself (undefined) — every
 * look must find its reported lag covering what it still lacks: at least
 * one chain and one block per block missing. Lag and lengths are read in
 * one synchronous step, so a fetch that ends between them cannot make the
 * check lie.
 */
async function catchesUpReportingLag (node: NetworkNode, targets: Targets, syncedBefore: number | undefined, what: string): Promise<void> {
  if (syncedBefore !== undefined) await waitFor(() => node.heads.stats.sync.synced > syncedBefore, `${what}: a heads reconciliation to complete`)
  let looks = 0
  await waitFor(async () => {
    const chains = await Promise.all([...targets.keys()].map(async (user) => node.ledger.hasChain(user) ? await node.ledger.chain(user) : undefined))
    // Synchronous from here: nothing can change between reading the lag and the lengths.
    const lag = node.heads.replicationLag()
    const missing = [...targets.values()].map((length, i) => Math.max(0, length - (chains[i]?.verifiedLength ?? 0)))
    looks++
    const behind = missing.filter((m) => m > 0).length
    if (behind === 0) return true
    expect(lag.chainsBehind, `${what}: chains reported behind while ${behind} are (look ${looks})`).toBeGreaterThanOrEqual(behind)
    expect(lag.blocksBehind, `${what}: blocks reported behind (look ${looks})`).toBeGreaterThanOrEqual(missing.reduce((a, b) => a + b, 0))
    return false
  }, what, 20_000)
  // Quiet again: nothing is left reported behind.
  await waitFor(() => node.heads.pendingFetches === 0 && node.heads.replicationLag().chainsBehind === 0, `${what}: the lag to return to 0`)
  for (const [user, length] of targets) expect((await node.ledger.verify(user)).verified).toBe(length)
}

/**
 * An exam by `author` appended straight to its own chain: durable, but never announced (a crash right after the append).
 * Every append through the ledger is announced (its change event), so the signed block goes into the core behind the
 * ledger's back; the chain is then closed, so the ledger's next chain() folds it from disk.
 */
async function appendUnannounced (node: NetworkNode, author: Party, user: UserKeys): Promise<number> {
  const chain = await node.ledger.chain(user.userId)
  const seq = chain.length
  const exam = buildExam({
    author: author.id,
    reg: node.ledger.registry.length,
    chainKey: chain.key,
    plain: { title: 'Pulse', observations: [{ code: '8867-4', value: 61, unit: '/min' }] },
    sealed: { notes: 'resting' },
    recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto)
  await coreOf(chain).append(encodeEntry(signEntry(exam, { chainKey: chain.key, seq }, author.keys.sign.secretKey, crypto)))
  await node.ledger.closeIdle(0)
  return seq
}

/** Stops the party's node and closes its ledger: everything in memory is gone, the data directory stays. */
async function down (net: TestNet, id: string): Promise<void> {
  await net.stop(id)
  await net.closeLedger(id)
}

describe('heads after a restart', () => {
  it('a custodian that restarted tells a replica that never restarted of appends it never announced', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    await net.start(a.id)
    const replica = await net.start(b.id)
    await net.meshed()
    const users = [await enrol(net, a.id), await enrol(net, a.id)]
    for (const u of users) await writeExam(net.node(a.id), a, u.user, u.chainKey)
    await waitFor(async () => (await Promise.all(users.map(async (u) => await verifiedAt(replica, u.user.userId)))).every((l) => l === 2), 'hospital-b to replicate both chains')

    // Appended and durable at the custodian, but the process "crashed" before announcing: nobody heard of them.
    const targets: Targets = new Map()
    targets.set(users[0]!.user.userId, await appendUnannounced(net.node(a.id), a, users[0]!.user) + 1)
    await appendUnannounced(net.node(a.id), a, users[1]!.user)
    targets.set(users[1]!.user.userId, await appendUnannounced(net.node(a.id), a, users[1]!.user) + 1)
    await down(net, a.id)
    expect(await verifiedAt(replica, users[0]!.user.userId)).toBe(2)

    // The custodian comes back; hospital-b kept running (its cursor for hospital-a is from hospital-a's earlier run).
    const synced = replica.heads.stats.sync.synced
    await net.start(a.id)
    await catchesUpReportingLag(replica, targets, synced, 'hospital-b to fetch the unannounced appends')
  }, 45_000)

  it('both restarted: the replica catches up on appends and an enrolment it missed while it was down', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    await net.start(a.id)
    await net.start(b.id)
    await net.meshed()
    const one = await enrol(net, a.id)
    const two = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, one.user, one.chainKey)
    await waitFor(async () => await verifiedAt(net.node(b.id), one.user.userId) === 2 && await verifiedAt(net.node(b.id), two.user.userId) === 1, 'hospital-b to replicate both chains')

    // hospital-b is down while hospital-a writes (announced, but nobody is there to hear it); then both restart.
    await down(net, b.id)
    await writeExam(net.node(a.id), a, one.user, one.chainKey)
    await writeExam(net.node(a.id), a, one.user, one.chainKey)
    await writeExam(net.node(a.id), a, two.user, two.chainKey)
    const three = await enrol(net, a.id)
    await down(net, a.id)
    await net.start(a.id)
    const replica = await net.start(b.id)

    const targets: Targets = new Map([[one.user.userId, 4], [two.user.userId, 2], [three.user.userId, 1]])
    await catchesUpReportingLag(replica, targets, 0, 'the restarted hospital-b to catch up')
  }, 45_000)

  it('with the custodian gone, a replica that restarted serves the heads of the chains it replicates', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['regulator-r', 'regulator']], cleanup)
    const [a, b, r] = net.parties as [Party, Party, Party]
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const { user, chainKey } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await waitFor(async () => await verifiedAt(net.node(b.id), user.userId) === 2 && await verifiedAt(net.node(r.id), user.userId) === 2, 'both replicas to hold the chain')

    // The regulator is down while the chain grows; hospital-b fetches it. Then the custodian goes away.
    await down(net, r.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await writeExam(net.node(a.id), a, user, chainKey)
    await waitFor(async () => await verifiedAt(net.node(b.id), user.userId) === 4, 'hospital-b to fetch both exams')
    await down(net, a.id)

    // hospital-b restarts (its head log starts over), and only later does the regulator come back.
    await down(net, b.id)
    await net.start(b.id)
    const regulator = await net.start(r.id)
    await catchesUpReportingLag(regulator, new Map([[user.userId, 4]]), 0, 'the regulator to catch up from hospital-b')
  }, 45_000)

  it('a replica whose fetch a crash cut short (the longer head stored, not all its blocks) fetches the rest once restarted', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    await net.start(a.id)
    await net.start(b.id)
    await net.meshed()
    const { user, chainKey } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await waitFor(async () => await verifiedAt(net.node(b.id), user.userId) === 2, 'hospital-b to replicate the chain')
    await net.stop(b.id)
    for (let i = 0; i < 3; i++) await writeExam(net.node(a.id), a, user, chainKey)
    await net.stop(a.id)

    // Replicated by hand, with neither node running: Hypercore stores the signed head for length 5 (the
    // upgrade) before any block; hospital-b then gets one block of the three and "crashes".
    const [ledgerA, ledgerB] = [await net.ledger(a.id), await net.ledger(b.id)]
    const up = storeOf(ledgerA).replicate(true)
    const down2 = storeOf(ledgerB).replicate(false)
    up.pipe(down2).pipe(up)
    up.on('error', () => {})
    down2.on('error', () => {})
    try {
      const core = coreOf(await ledgerB.chain(user.userId))
      core.replicate(down2)
      await core.update({ wait: true })
      await core.download({ start: 2, end: 3 }).done()
      expect(core.length).toBe(5)
    } finally {
      up.destroy()
      down2.destroy()
    }
    await net.closeLedger(b.id)
    // Block 2 arrived but was never checked: only the two blocks checked before count.
    const stored = await (await net.ledger(b.id)).storedHeads([user.userId])
    expect(stored.get(user.userId)).toMatchObject({ head: { length: 5 }, contiguousLength: 2 })

    // hospital-b's own stored head now equals the custodian's: only what it holds says it is behind.
    await net.start(a.id)
    const replica = await net.start(b.id)
    await catchesUpReportingLag(replica, new Map([[user.userId, 5]]), 0, 'hospital-b to fetch the blocks its cut-short fetch missed')
  }, 45_000)

  it('after a restart, heads-sync between level nodes opens no chain: heads already logged are recognised, not checked again', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    await net.start(a.id)
    await net.start(b.id)
    await net.meshed()
    const users = [await enrol(net, a.id), await enrol(net, a.id), await enrol(net, a.id)]
    await writeExam(net.node(a.id), a, users[0]!.user, users[0]!.chainKey)
    await waitFor(async () => await verifiedAt(net.node(b.id), users[0]!.user.userId) === 2 && await verifiedAt(net.node(b.id), users[2]!.user.userId) === 1, 'hospital-b to replicate every chain')
    await down(net, b.id)
    await down(net, a.id)

    const custodian = await net.start(a.id)
    const replica = await net.start(b.id)
    await waitFor(() => custodian.heads.stats.sync.synced > 0 && replica.heads.stats.sync.synced > 0, 'both to reconcile')
    for (const node of [custodian, replica]) {
      expect(node.heads.stats.seed).toEqual({ seeded: 3, failedPages: 0 })
      // Each got the other's three heads, the very ones it seeded from its own storage.
      expect(node.heads.stats.known).toBe(3)
      expect(node.heads.stats.received).toBe(3)
      expect(node.ledger.openChainCount).toBe(0)
      expect(node.heads.replicationLag()).toEqual({ chainsBehind: 0, blocksBehind: 0 })
    }
  }, 45_000)

  it('a custodian process killed with SIGKILL: restarted, it lets the replica reach every acknowledged write', async () => {
    // hospital-b (in this process) hosts the registry; hospital-a, the custodian, runs as a child process.
    const net = await TestNet.create([['hospital-b', 'examiner'], ['hospital-a', 'examiner']], cleanup)
    const [b, a] = net.parties as [Party, Party]
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-sigkill-'))
    await chmod(dir, 0o700)
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true, maxRetries: 3 }) })
    const a1 = await childNode(net, a, b.id, dir, cleanup)
    const spawnA = async (bootstrap: string | undefined): Promise<NodeProcess> => await a1.spawn(bootstrap)

    let replica = await net.start(b.id)
    let custodian = await spawnA(replica.addresses[0]!)
    await custodian.ready()
    await waitFor(() => replica.replication.peers.includes(a.peer) && replica.host.services.pubsub.getSubscribers(HEADS_TOPIC).map(String).includes(a.peer), 'hospital-a to join hospital-b')

    const users: UserKeys[] = []
    for (let i = 0; i < 3; i++) {
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      const chainKey = Uint8Array.from(Buffer.from(await custodian.request<string>('chainKey', { user: user.userId }), 'hex'))
      const genesis = signEntry(buildGenesis(user, a.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
      await custodian.request('enrol', { genesis: bytesToHex(encodeEntry(genesis)) })
      users.push(user)
    }
    const write = async (user: UserKeys, label: string): Promise<number> =>
      (await custodian.request<{ seq: number }>('write', { label, user: user.userId, userBox: bytesToHex(user.box.publicKey) })).seq
    for (const user of users) await write(user, `${user.userId}-first`)
    await waitFor(async () => (await Promise.all(users.map(async (u) => await verifiedAt(replica, u.userId)))).every((l) => l === 2), 'hospital-b to replicate every chain')

    // hospital-b is down; hospital-a acknowledges more writes, then its process is killed outright.
    await down(net, b.id)
    const acknowledged: Targets = new Map()
    for (const [i, user] of users.entries()) {
      let seq = 0
      for (let n = 0; n <= i; n++) seq = await write(user, `${user.userId}-later-${n}`)
      acknowledged.set(user.userId, seq + 1)
    }
    await custodian.kill()
    expect(custodian.exit?.signal).toBe('SIGKILL')

    // Both come back from their data directories (the registry is in hospital-a's by now).
    custodian = await spawnA(undefined)
    const { addresses } = await custodian.ready()
    for (const user of users) {
      const view = await custodian.request<{ held: boolean, verifiedLength: number }>('chain', { user: user.userId })
      expect(view.verifiedLength, 'no acknowledged write lost').toBe(acknowledged.get(user.userId))
    }
    replica = await net.start(b.id)
    await replica.dial(addresses[0]!)
    await catchesUpReportingLag(replica, acknowledged, 0, 'hospital-b to catch up with the killed and restarted custodian')
    await custodian.stop()
    expect(custodian.exit?.code).toBe(0)
  }, 60_000)
})

describe('heads already logged', () => {
  it('a replica whose own stored head ran ahead of a fetch still fetches the rest when a peer sends that very head', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], cleanup)
    const [a, b] = net.parties as [Party, Party]
    const custodian = await net.start(a.id)
    const replica = await net.start(b.id)
    await net.meshed()
    const { user } = await enrol(net, a.id)
    await waitFor(async () => await verifiedAt(replica, user.userId) === 1, 'hospital-b to replicate the chain')

    // The custodian's head at 2, then two more appends nobody is told of (its head is now at 4).
    await appendUnannounced(custodian, a, user)
    const atTwo = await headOf(await custodian.ledger.chain(user.userId))
    await appendUnannounced(custodian, a, user)
    await appendUnannounced(custodian, a, user)
    const atFour = await headOf(await custodian.ledger.chain(user.userId))

    // Over a side stream, hospital-b's core takes the signed head for 4 (an upgrade) and no block.
    const core = coreOf(await replica.ledger.chain(user.userId))
    const up = storeOf(custodian.ledger).replicate(true)
    const side = storeOf(replica.ledger).replicate(false)
    up.pipe(side).pipe(up)
    up.on('error', () => {})
    side.on('error', () => {})
    try {
      core.replicate(side)
      await core.update({ wait: true })
      expect(core.length).toBe(4)
    } finally {
      up.destroy()
      side.destroy()
    }

    // A peer's head for 2: hospital-b fetches up to 2, then logs its own stored head, at 4, ahead of what it verified.
    await replica.heads.receive([atTwo])
    await waitFor(async () => replica.heads.pendingFetches === 0 && await verifiedAt(replica, user.userId) === 2, 'hospital-b to fetch up to 2')
    expect(replica.heads.log.get(bytesToHex(atFour.key))?.length).toBe(4)
    expect(replica.heads.replicationLag().chainsBehind).toBe(0)

    // The custodian's head for 4 is the one logged, byte for byte: it must still make hospital-b fetch.
    const known = replica.heads.stats.known
    await replica.heads.receive([atFour])
    expect(replica.heads.stats.known).toBe(known)
    await catchesUpReportingLag(replica, new Map([[user.userId, 4]]), undefined, 'hospital-b to fetch the blocks its stored head promised')
  }, 45_000)
})
