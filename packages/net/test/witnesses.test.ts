/**
 * Witnesses between real nodes on 127.0.0.1 (libp2p over TCP, Corestores on
 * disk): two regulators cosign the heads they verified, a client demands a
 * quorum; forged cosignatures are not counted; a forked chain gets no new
 * cosignatures; a restarted regulator keeps its promise.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, utf8ToBytes, type InstitutionRole } from '@healthchain/core'
import { expectCodeOf } from '@healthchain/core/testing'
import {
  HEADS_TOPIC, MAX_WITNESS_REQUEST_BYTES, WITNESS_PROTOCOL, decodeWitnessRequest, encodeHeadsAnnouncement,
  NetError, encodeWitnessResponse, headOf, readFrame, verifyCosignature, writeFrame, type SignedHead
} from '@healthchain/net'
import { converged, enrol, TestNet, waitFor, writeExam, type Cleanup, type Party } from '@healthchain/net/testing'
import { coreOf, storeOf } from '@healthchain/ledger/testing'

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const expectCode = expectCodeOf(NetError)

const SPECS: Array<[string, InstitutionRole]> = [['hospital-a', 'examiner'], ['regulator-one', 'regulator'], ['regulator-two', 'regulator'], ['clinic-c', 'examiner']]

describe('witnesses between real nodes', () => {
  it('two regulators cosign the custodian\'s current head; a quorum of 3 is refused; a forged cosignature is not counted', async () => {
    const net = await TestNet.create(SPECS, cleanup)
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const [a, r1, r2, c] = net.parties as [Party, Party, Party, Party]
    const { user, chainKey } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 3, 'every node to replicate the chain')
    const custodianHead = await headOf(await net.node(a.id).ledger.chain(user.userId))

    const client = net.node(c.id)
    const got = await client.headWithQuorum(chainKey, { quorum: 2, timeoutMs: 5_000 })
    expect(got.head).toEqual(custodianHead)
    expect(got.cosignatures.map((x) => x.witness).sort()).toEqual([r1.id, r2.id])
    for (const x of got.cosignatures) expect(verifyCosignature(x, net.party(x.witness).keys.sign.publicKey)).toBe(true)
    // Asked again: the same cosignatures (one per (chain, length)), not new ones.
    expect(net.node(r1.id).witness!.stats.cosigned).toBe(1)
    expect((await client.headWithQuorum(chainKey, { quorum: 2, timeoutMs: 5_000 })).cosignatures).toHaveLength(2)
    expect(net.node(r1.id).witness!.stats.cosigned).toBe(1)
    // Non-regulators cosign nothing; a quorum of 3 out of 2 regulators is impossible.
    expect(net.node(a.id).witness).toBeUndefined()
    await expectCode(client.headWithQuorum(chainKey, { quorum: 3, timeoutMs: 5_000 }), 'NO_QUORUM')

    // regulator-two now answers with a flipped byte in each of its signatures.
    const rogue = net.node(r2.id)
    await rogue.host.unhandle(WITNESS_PROTOCOL)
    await rogue.host.handle(WITNESS_PROTOCOL, (stream) => {
      void (async () => {
        const request = decodeWitnessRequest(await readFrame(stream, { maxBytes: MAX_WITNESS_REQUEST_BYTES }))
        const answer = await rogue.witness!.answer(request)
        const cosignatures = answer.cosignatures.map((x) => {
          const sig = x.sig.slice()
          sig[5]! ^= 0x01
          return { ...x, sig }
        })
        await writeFrame(stream, encodeWitnessResponse({ ...answer, cosignatures }))
        await stream.close()
      })().catch((err: unknown) => { stream.abort(err as Error) })
    })
    await expectCode(client.headWithQuorum(chainKey, { quorum: 2, timeoutMs: 5_000 }), 'NO_QUORUM')
    await expectCode(client.headWithQuorum(chainKey, { quorum: 1, witnesses: [r2.id], timeoutMs: 5_000 }), 'NO_QUORUM')
    const one = await client.headWithQuorum(chainKey, { quorum: 1, timeoutMs: 5_000 })
    expect(one.head).toEqual(custodianHead)
    expect(one.cosignatures.map((x) => x.witness)).toEqual([r1.id])
  }, 30_000)

  it('a forked chain gets no new cosignatures and no quorum for its second root; a restarted regulator keeps its promise', async () => {
    const net = await TestNet.create(SPECS, cleanup)
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const [a, r1, r2, c] = net.parties as [Party, Party, Party, Party]
    const { user, chainKey } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 2, 'every node to replicate the chain')
    const client = net.node(c.id)
    expect((await client.headWithQuorum(chainKey, { quorum: 2, timeoutMs: 5_000 })).head.length).toBe(2)

    // The custodian's key pair in a second store: another history at length 3.
    const chain = await net.node(a.id).ledger.chain(user.userId)
    const forkDir = await mkdtemp(join(tmpdir(), 'healthchain-witness-fork-'))
    cleanup.push(async () => { await rm(forkDir, { recursive: true, force: true }) })
    const store = new Corestore(forkDir, { primaryKey: storeOf(net.node(a.id).ledger).primaryKey!, unsafe: true })
    cleanup.push(async () => { await store.close() })
    const twin = store.get({ name: `chain/${user.userId}` })
    await twin.ready()
    for (let seq = 0; seq < 2; seq++) await twin.append((await coreOf(chain).get(seq))!)
    await twin.append(utf8ToBytes('another third block'))
    const other: SignedHead = await headOf(twin)

    // The real third block reaches everyone; only regulator-one is asked about it (and cosigns it).
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 3, 'every node to fetch the real third block')
    const real = await headOf(chain)
    const byOne = await client.headWithQuorum(chainKey, { quorum: 1, witnesses: [r1.id], timeoutMs: 5_000 })
    expect(byOne.head).toEqual(real)
    expect(other.length).toBe(3)
    expect(bytesToHex(other.root)).not.toBe(bytesToHex(real.root))

    // The other head is published: every node holds a fork proof.
    await client.host.services.pubsub.publish(HEADS_TOPIC, encodeHeadsAnnouncement({ v: 1, heads: [other] }))
    await waitFor(() => net.nodes.every((n) => n.isForked(chainKey)), 'every node to hold a fork proof')

    // No new cosignature: regulator-two refuses length 3 (either root), so the best quorum stays at length 2.
    const two = net.node(r2.id).witness!
    const made = two.stats.cosigned
    const best = await client.headWithQuorum(chainKey, { quorum: 2, timeoutMs: 5_000 })
    expect(best.head.length).toBe(2)
    await expectCode(client.headWithQuorum(chainKey, { quorum: 2, minLength: 3, timeoutMs: 5_000 }), 'NO_QUORUM')
    expect(two.stats.cosigned).toBe(made)
    expect(await two.consider(other)).toEqual({ cosigned: false, reason: 'FORKED' })
    expect(await two.consider(real)).toEqual({ cosigned: false, reason: 'FORKED' })
    expect(await net.node(r1.id).witness!.consider(other)).toEqual({ cosigned: false, reason: 'CONFLICT' })
    for (const r of [r1, r2]) {
      expect((await net.node(r.id).witness!.cosignaturesOf(chainKey)).some((x) => bytesToHex(x.head.root) === bytesToHex(other.root))).toBe(false)
    }

    // regulator-one restarts: its promise for (chain, 3) comes from disk, checked before anything else.
    const promised = byOne.cosignatures[0]!
    await net.stop(r1.id)
    await net.closeLedger(r1.id)
    const back = (await net.start(r1.id)).witness!
    expect(back.stats.cosigned).toBe(0)
    expect(await back.cosignaturesOf(chainKey, 3)).toEqual([promised])
    expect(await back.consider(other)).toEqual({ cosigned: false, reason: 'CONFLICT' })
    expect(await back.consider(real)).toEqual({ cosigned: true, cosignature: promised })
    expect(back.stats.cosigned).toBe(0)
  }, 30_000)
})
