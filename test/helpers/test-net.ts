/**
 * A consortium of real nodes for tests: the first party creates the registry
 * and admits every party (with its libp2p peer id); each party has a ledger
 * in one temporary directory; nodes are started and stopped at will (a
 * regulator's node gets its signing key, so it witnesses), and everything is
 * closed and removed by the cleanup list the test file runs after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  buildExam, buildGenesis, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type InstitutionRole, type PartyKeys, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type RegistryFeed, type UserChain } from '@healthchain/ledger'
import { FORKS_TOPIC, HEADS_TOPIC, NetworkNode, type NetworkNodeInit } from '@healthchain/net'
import { waitFor } from './wait.js'

export { crypto }

export interface Party { id: InstitutionId, role: InstitutionRole, keys: PartyKeys, p2p: PrivateKey, peer: string }

export type Cleanup = Array<() => Promise<void>>

/** A new institution: its signing and sealing keys, and a libp2p identity. */
export async function makeParty (id: string, role: InstitutionRole): Promise<Party> {
  const p2p = await generateKeyPair('Ed25519')
  return { id: id as InstitutionId, role, keys: generatePartyKeys(crypto), p2p, peer: peerIdFromPrivateKey(p2p).toString() }
}

export class TestNet {
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

  static async create (specs: Array<[string, InstitutionRole]>, cleanup: Cleanup): Promise<TestNet> {
    const dir = await mkdtemp(join(tmpdir(), 'healthchain-net-'))
    cleanup.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const parties = await Promise.all(specs.map(async ([id, role]) => await makeParty(id, role)))
    const governance = generatePartyKeys(crypto)
    const first = await Ledger.open({ dir: join(dir, parties[0]!.id), institution: parties[0]!.id, crypto, verifyWorkers: 0 })
    const registry = await first.createRegistry(governance.sign, 'Test network')
    for (const p of parties) {
      await registry.append('admit', { institution: p.id, name: p.id, role: p.role, sign: p.keys.sign.publicKey, box: p.keys.box.publicKey, peer: p.peer }, governance.sign)
    }
    const net = new TestNet(dir, parties, registry, first)
    cleanup.push(async () => { await net.close() })
    return net
  }

  party (id: string): Party { return this.parties.find((p) => p.id === id)! }
  get registryKey (): Uint8Array { return this.registry.key }
  /** The directory of the party's ledger (its Corestore). */
  dataDir (id: string): string { return join(this.dir, id) }
  node (id: string): NetworkNode { return this.running.get(id)! }
  get nodes (): NetworkNode[] { return [...this.running.values()] }

  /** The party's ledger, opened (again) if closed. */
  async ledger (id: string): Promise<Ledger> {
    let ledger = this.ledgers.get(id)
    if (ledger === undefined) {
      ledger = await Ledger.open({ dir: join(this.dir, id), institution: id as InstitutionId, crypto, verifyWorkers: 0 })
      if (!ledger.hasRegistry) await ledger.followRegistry(this.registry.key)
      this.ledgers.set(id, ledger)
    }
    return ledger
  }

  /** Starts the party's node, dials every running node, and waits for the registry and the replication channels. */
  async start (id: string, opts: Partial<NetworkNodeInit> = {}): Promise<NetworkNode> {
    const ledger = await this.ledger(id)
    const party = this.party(id)
    const node = await NetworkNode.start({
      ledger, privateKey: party.p2p, bootstrapPeers: [this.parties[0]!.peer], ...(party.role === 'regulator' ? { signer: party.keys.sign } : {}), ...opts
    })
    const others = this.nodes
    this.running.set(id, node)
    // Before it has the registry a node admits only its bootstrap peer (the first party); then everyone.
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

  /** Waits until every running node sees every other subscribed to both topics (a publish before that may be dropped). */
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

/** Enrols a new user at `custodian`'s node (which announces the chain). */
export async function enrol (net: TestNet, custodian: string): Promise<{ user: UserKeys, chainKey: Uint8Array, chain: UserChain }> {
  const node = net.node(custodian)
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const chainKey = await node.ledger.chainKeyFor(user.userId)
  const genesis = signEntry(buildGenesis(user, net.party(custodian).id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
  const chain = await node.enrol(genesis)
  return { user, chainKey, chain }
}

/** An exam by `author`, written through `node` (appended there if custodian, else forwarded). */
export async function writeExam (node: NetworkNode, author: Party, user: UserKeys, chainKey: Uint8Array): Promise<number> {
  const exam = buildExam({
    author: author.id, reg: node.ledger.registry.length, chainKey, plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] },
    sealed: { notes: 'seen at the clinic' }, recipients: [user.box.publicKey, author.keys.box.publicKey]
  }, crypto)
  const { seq } = await node.append(user.userId, (at) => signEntry(exam, { chainKey, seq: at }, author.keys.sign.secretKey, crypto))
  return seq
}
