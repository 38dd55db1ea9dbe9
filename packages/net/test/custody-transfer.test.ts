/**
 * A chain moves from hospital-a to hospital-b (the ledger's continuation
 * core, the user's migrate signed as the phone would), and the network
 * follows: replicas holding the old chain move to the continuation after
 * checking it whole, a node that held nothing of the user takes the
 * continuation and its whole history, and the old core is closed at N on
 * every node — the old custodian's appends after the move are never fetched,
 * logged or counted. Real nodes on 127.0.0.1, data on disk, restarts and
 * idle closes included.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { buildMigrate, bytesToHex, encodeEntry, signEntry, buildExam, type InstitutionId, type UserKeys } from '@healthchain/core'
import { HEADS_TOPIC, encodeHeadsAnnouncement, headOf, type NetworkNode } from '@healthchain/net'
import { crypto, enrol, TestNet, waitFor, writeExam, type Cleanup } from '@healthchain/net/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** hospital-b takes the chain over: its offer, the user's migrate for it, continueChain. */
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

describe('a chain that moves to a new custodian, on the network', () => {
  it('replicas and a fresh node follow the continuation; the old custodian\'s appends to the old core go nowhere, also after a restart', async () => {
    const net = await TestNet.create([
      ['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner'], ['regulator', 'regulator'], ['hospital-d', 'examiner']
    ], cleanup)
    const nodeA = await net.start('hospital-a')
    const nodeB = await net.start('hospital-b')
    await net.start('hospital-c')
    await net.start('regulator')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    await writeExam(nodeA, net.party('hospital-a'), user, chainKey)
    const replicas = ['hospital-b', 'hospital-c', 'regulator']
    for (const id of replicas) await waitFor(async () => await follows(net.node(id), user, chainKey, 2), `${id} to verify the chain`)

    const moved = await transfer(nodeB, user)
    expect(moved.length).toBe(2)
    // hospital-b writes in the continuation as its custodian.
    await writeExam(nodeB, net.party('hospital-b'), user, moved.key)
    for (const id of ['hospital-a', 'hospital-c', 'regulator']) {
      await waitFor(async () => await follows(net.node(id), user, moved.key, 4), `${id} to follow the continuation`)
      const node = net.node(id)
      const closed = node.ledger.closedChain(chainKey)
      expect({ ...closed, successor: bytesToHex(closed!.successor) }, id).toEqual({ user: user.userId, length: 2, successor: bytesToHex(moved.key) })
      const report = await node.ledger.verify(user.userId)
      expect(report.valid, `${id}: ${JSON.stringify(report.problems)}`).toBe(true)
    }
    expect(net.node('regulator').heads.stats.fetch.followed).toBe(1)
    // A witness cosigns the continuation's head (it carries its prologue), and a client gets it with a quorum.
    const continuationHead = await headOf(await nodeB.ledger.chain(user.userId))
    expect(continuationHead.prologue?.length).toBe(2)
    expect((await net.node('regulator').witness!.consider(continuationHead)).cosigned).toBe(true)
    const witnessed = await nodeB.headWithQuorum(moved.key, { quorum: 1, timeoutMs: 5_000 })
    expect(witnessed.head.length).toBe(4)

    // The old custodian appends to the old core after the move (raw, signed properly for the old key) and announces it.
    const old = nodeA.ledger.coreSession(chainKey)
    await old.ready()
    expect(old.writable).toBe(true)
    const rogue = signEntry(buildExam({
      author: 'hospital-a' as InstitutionId,
      reg: nodeA.ledger.registry.length,
      chainKey,
      plain: { title: 'After the move', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] },
      sealed: { notes: 'written by a custodian the chain left' },
      recipients: [user.box.publicKey]
    }, crypto), { chainKey, seq: 2 }, net.party('hospital-a').keys.sign.secretKey, crypto)
    await old.append(encodeEntry(rogue))
    const rogueHead = await headOf(old)
    await old.close()
    expect(rogueHead.length).toBe(3)
    await nodeA.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [rogueHead] }))

    const keyHex = bytesToHex(chainKey)
    const check = async (when: string): Promise<void> => {
      for (const id of ['hospital-c', 'regulator']) {
        const node = net.node(id)
        expect(await follows(node, user, moved.key, 4), `${id} ${when}: still the continuation`).toBe(true)
        expect((await node.ledger.chain(user.userId)).length, `${id} ${when}`).toBe(4)
        // Never logged (so never served by heads-sync) beyond where the core was closed.
        expect(node.heads.log.get(keyHex)?.length ?? 0, `${id} ${when}: old head logged`).toBeLessThanOrEqual(2)
        expect(node.heads.log.get(bytesToHex(moved.key))?.length, `${id} ${when}: the continuation's head`).toBe(4)
        expect((await node.ledger.verify(user.userId)).valid, `${id} ${when}`).toBe(true)
        // Reported: a version 3 fork proof of the old core, flagging the custodian that wrote on it after the move.
        const proof = node.heads.forkOf(chainKey)
        expect(proof?.v, `${id} ${when}: fork proof`).toBe(3)
        expect(node.heads.forkedChains().find((f) => f.chain === keyHex), `${id} ${when}`).toEqual({ chain: keyHex, length: 2, custodian: 'hospital-a' })
      }
    }
    for (const id of ['hospital-c', 'regulator']) {
      await waitFor(() => net.node(id).heads.stats.closedBeyond > 0, `${id} to see the old core's head beyond N`)
      await waitFor(() => net.node(id).heads.forkedChains().find((f) => f.chain === keyHex)?.custodian === 'hospital-a',
        `${id} to flag hospital-a`)
    }
    await check('after the rogue head')

    // Closed when idle, then a restart from the same data directory: the continuation stands, the old core stays closed.
    for (const id of ['hospital-c', 'regulator']) {
      await waitFor(async () => (await net.node(id).ledger.closeIdle(0)) >= 0 && net.node(id).ledger.openChainCount === 0, `${id} to close idle chains`)
    }
    await check('after an idle close')
    for (const id of ['hospital-c', 'regulator']) {
      await net.stop(id)
      await net.closeLedger(id)
    }
    await net.start('hospital-c')
    await net.start('regulator')
    await net.meshed()
    await nodeA.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [rogueHead] }))
    await waitFor(() => net.node('regulator').heads.stats.closedBeyond > 0, 'the restarted regulator to see the rogue head')
    await check('after a restart')

    // A node that held nothing of the user joins later: it takes the continuation and verifies the whole history.
    const late = await net.start('hospital-d')
    await waitFor(async () => await follows(late, user, moved.key, 4), 'hospital-d to replicate the continuation')
    const report = await late.ledger.verify(user.userId)
    expect(report.valid, JSON.stringify(report.problems)).toBe(true)
    // Peers' head logs still hold the old core's head at N, so it may have started there: then it moved on, and closed it at N.
    const closed = late.ledger.closedChain(chainKey)
    if (closed !== undefined) expect([closed.length, bytesToHex(closed.successor)]).toEqual([2, bytesToHex(moved.key)])
  }, 120_000)

  it('two continuations from one head: the one a node saw first stands, the other is refused there', async () => {
    const net = await TestNet.create([['hospital-a', 'examiner'], ['hospital-b', 'examiner'], ['hospital-c', 'examiner'], ['regulator', 'regulator']], cleanup)
    const nodeA = await net.start('hospital-a')
    const nodeB = await net.start('hospital-b')
    await net.start('hospital-c')
    const regulator = await net.start('regulator')
    await net.meshed()
    const { user, chainKey } = await enrol(net, 'hospital-a')
    await writeExam(nodeA, net.party('hospital-a'), user, chainKey)
    for (const id of ['hospital-b', 'hospital-c', 'regulator']) {
      await waitFor(async () => await follows(net.node(id), user, chainKey, 2), `${id} to verify the chain`)
    }
    // hospital-c is offline while the chain moves to hospital-b; the user then signs a second migrate from the same head for hospital-c.
    await net.stop('hospital-c')
    const first = await transfer(nodeB, user)
    for (const node of [nodeA, regulator]) await waitFor(async () => await follows(node, user, first.key, 3), 'the first continuation to be followed')
    const second = await transfer({ ledger: await net.ledger('hospital-c') } as unknown as NetworkNode, user)
    expect(second.length).toBe(first.length)
    expect(bytesToHex(second.key)).not.toBe(bytesToHex(first.key))

    const nodeC = await net.start('hospital-c')
    await net.meshed()
    for (const node of [nodeA, nodeB, regulator, nodeC]) {
      await waitFor(() => (node.heads.stats.fetch.failed.get('ALREADY_MOVED') ?? 0) > 0, 'the other continuation to be refused')
    }
    for (const node of [nodeA, nodeB, regulator]) {
      expect(await follows(node, user, first.key, 3)).toBe(true)
      expect((await node.ledger.verify(user.userId)).valid).toBe(true)
    }
    // hospital-c wrote the second one itself: it stands there, and hospital-b's is the one refused.
    expect(await follows(nodeC, user, second.key, 3)).toBe(true)
    // Reported everywhere as the user's two migrates (a version 3 proof with both), flagging no institution.
    const keyHex = bytesToHex(chainKey)
    for (const node of [nodeA, nodeB, regulator, nodeC]) {
      await waitFor(() => node.heads.forkOf(chainKey) !== undefined, 'the two migrates to be reported')
      const proof = node.heads.forkOf(chainKey)!
      expect(proof.v).toBe(3)
      expect(proof.v === 3 ? proof.moves.map((m) => bytesToHex(m.key)).sort() : []).toEqual([bytesToHex(first.key), bytesToHex(second.key)].sort())
      expect(node.heads.forkedChains().find((f) => f.chain === keyHex)).toEqual({ chain: keyHex, length: 2, custodian: undefined })
    }
  }, 90_000)
})
