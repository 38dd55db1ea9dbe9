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
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  buildExam, buildGenesis, bytesToHex, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase, utf8ToBytes,
  type InstitutionId, type InstitutionRole, type PartyKeys, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type RegistryFeed } from '@healthchain/ledger'
import {
  FORKS_TOPIC, HEADS_TOPIC, MAX_WITNESS_REQUEST_BYTES, NetworkNode, WITNESS_PROTOCOL, decodeWitnessRequest, encodeHeadsAnnouncement,
  encodeWitnessResponse, headOf, isNetError, readFrame, verifyCosignature, writeFrame, type NetErrorCode, type SignedHead
} from '@healthchain/net'
import { waitFor } from './helpers/wait.js'

interface Party { id: InstitutionId, role: InstitutionRole, keys: PartyKeys, p2p: PrivateKey, peer: string }

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** A consortium whose first party creates the registry and admits all; regulators' nodes get their signing key. */
class TestNet {
  readonly parties: Party[]
  private readonly dir: string
  private readonly registry: RegistryFeed
  private readonly ledgers = new Map<string, Ledger>()
  private readonly running = new Map<string, NetworkNode>()

  private constructor (dir: string, parties: Party[], registry: RegistryFeed, first: Ledger) {
    this.dir = dir
    this.parties = parties
    this.registry = registry
    this.ledgers.set(parties[0]!.id, first)
  }

  static async create (specs: Array<[string, InstitutionRole]>): Promise<TestNet> {
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-witness-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const parties = await Promise.all(specs.map(async ([id, role]) => {
      const p2p = await generateKeyPair('Ed25519')
      return { id: id as InstitutionId, role, keys: generatePartyKeys(crypto), p2p, peer: peerIdFromPrivateKey(p2p).toString() }
    }))
    const governance = generatePartyKeys(crypto)
    const first = await Ledger.open({ dir: join(dir, parties[0]!.id), institution: parties[0]!.id, crypto, verifyWorkers: 0 })
    const registry = await first.createRegistry(governance.sign, 'Witness test')
    for (const p of parties) {
      await registry.append('admit', { institution: p.id, name: p.id, role: p.role, sign: p.keys.sign.publicKey, box: p.keys.box.publicKey, peer: p.peer }, governance.sign)
    }
    const net = new TestNet(dir, parties, registry, first)
    cleanup.push(async () => { await net.close() })
    return net
  }

  party (id: string): Party { return this.parties.find((p) => p.id === id)! }
  node (id: string): NetworkNode { return this.running.get(id)! }
  get nodes (): NetworkNode[] { return [...this.running.values()] }

  async ledger (id: string): Promise<Ledger> {
    let ledger = this.ledgers.get(id)
    if (ledger === undefined) {
      ledger = await Ledger.open({ dir: join(this.dir, id), institution: id as InstitutionId, crypto, verifyWorkers: 0 })
      if (!ledger.hasRegistry) await ledger.followRegistry(this.registry.key)
      this.ledgers.set(id, ledger)
    }
    return ledger
  }

  /** Starts the party's node (a regulator with its signer), dials every running node, waits for the registry and channels. */
  async start (id: string): Promise<NetworkNode> {
    const ledger = await this.ledger(id)
    const party = this.party(id)
    const node = await NetworkNode.start({
      ledger, privateKey: party.p2p, bootstrapPeers: [this.parties[0]!.peer], ...(party.role === 'regulator' ? { signer: party.keys.sign } : {})
    })
    const others = this.nodes
    this.running.set(id, node)
    const bootstrap = others.find((o) => o.peerId === this.parties[0]!.peer)
    if (bootstrap !== undefined) await node.dial(bootstrap.addresses[0]!)
    await waitFor(() => ledger.registry.length === this.registry.length, `${id} to receive the registry`)
    for (const other of others) if (other !== bootstrap) await node.dial(other.addresses[0]!)
    await waitFor(() => others.every((o) => node.replication.peers.includes(o.peerId)), `${id}'s replication channels`)
    return node
  }

  async stop (id: string): Promise<void> {
    await this.running.get(id)?.stop()
    this.running.delete(id)
  }

  async closeLedger (id: string): Promise<void> {
    await this.ledgers.get(id)?.close()
    this.ledgers.delete(id)
  }

  async meshed (): Promise<void> {
    const nodes = this.nodes
    await waitFor(() => nodes.every((n) => [HEADS_TOPIC, FORKS_TOPIC].every((topic) => {
      const subscribers = n.host.services.pubsub.getSubscribers(topic).map(String)
      return nodes.every((o) => o === n || subscribers.includes(o.peerId))
    })), 'gossip subscriptions to reach every node')
  }

  async close (): Promise<void> {
    for (const id of [...this.running.keys()]) await this.stop(id)
    for (const id of [...this.ledgers.keys()]) await this.closeLedger(id)
  }
}

async function enrol (net: TestNet, custodian: string): Promise<{ user: UserKeys, chainKey: Uint8Array }> {
  const node = net.node(custodian)
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const chainKey = await node.ledger.chainKeyFor(user.userId)
  await node.enrol(signEntry(buildGenesis(user, net.party(custodian).id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
  return { user, chainKey }
}

async function writeExam (node: NetworkNode, author: Party, user: UserKeys, chainKey: Uint8Array): Promise<number> {
  const exam = buildExam({
    author: author.id, reg: node.ledger.registry.length, chainKey, plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] },
    sealed: { notes: 'seen at the clinic' }, recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto)
  const { seq } = await node.append(user.userId, (at) => signEntry(exam, { chainKey, seq: at }, author.keys.sign.secretKey, crypto))
  return seq
}

async function converged (nodes: NetworkNode[], user: UserId, length: number, what: string): Promise<void> {
  await waitFor(async () => (await Promise.all(nodes.map(async (n) => n.ledger.hasChain(user) && (await n.ledger.chain(user)).verifiedLength === length))).every(Boolean), what, 15_000)
}

async function expectCode (work: Promise<unknown>, code: NetErrorCode): Promise<void> {
  const err = await work.then(() => undefined, (e: unknown) => e)
  expect(isNetError(err, code), `expected ${code}, got ${String(err)}`).toBe(true)
}

const SPECS: Array<[string, InstitutionRole]> = [['hospital-a', 'examiner'], ['regulator-one', 'regulator'], ['regulator-two', 'regulator'], ['clinic-c', 'examiner']]

describe('witnesses between real nodes', () => {
  it('two regulators cosign the custodian\'s current head; a quorum of 3 is refused; a forged cosignature is not counted', async () => {
    const net = await TestNet.create(SPECS)
    for (const p of net.parties) await net.start(p.id)
    await net.meshed()
    const [a, r1, r2, c] = net.parties as [Party, Party, Party, Party]
    const { user, chainKey } = await enrol(net, a.id)
    await writeExam(net.node(a.id), a, user, chainKey)
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 3, 'every node to replicate the chain')
    const custodianHead = await headOf((await net.node(a.id).ledger.chain(user.userId)).core)

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
    const net = await TestNet.create(SPECS)
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
    const store = new Corestore(forkDir, { primaryKey: net.node(a.id).ledger.store.primaryKey!, unsafe: true })
    cleanup.push(async () => { await store.close() })
    const twin = store.get({ name: `chain/${user.userId}` })
    await twin.ready()
    for (let seq = 0; seq < 2; seq++) await twin.append((await chain.core.get(seq))!)
    await twin.append(utf8ToBytes('another third block'))
    const other: SignedHead = await headOf(twin)

    // The real third block reaches everyone; only regulator-one is asked about it (and cosigns it).
    await writeExam(net.node(a.id), a, user, chainKey)
    await converged(net.nodes, user.userId, 3, 'every node to fetch the real third block')
    const real = await headOf(chain.core)
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
      expect(net.node(r.id).witness!.cosignaturesOf(chainKey).some((x) => bytesToHex(x.head.root) === bytesToHex(other.root))).toBe(false)
    }

    // regulator-one restarts: its promise for (chain, 3) comes from disk, checked before anything else.
    const promised = byOne.cosignatures[0]!
    await net.stop(r1.id)
    await net.closeLedger(r1.id)
    const back = (await net.start(r1.id)).witness!
    expect(back.stats.cosigned).toBe(0)
    expect(back.cosignaturesOf(chainKey, 3)).toEqual([promised])
    expect(await back.consider(other)).toEqual({ cosigned: false, reason: 'CONFLICT' })
    expect(await back.consider(real)).toEqual({ cosigned: true, cosignature: promised })
    expect(back.stats.cosigned).toBe(0)
  }, 30_000)
})
