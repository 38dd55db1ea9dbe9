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
  type InstitutionId, type InstitutionRole, type PartyKeys, type UserId, type UserKeys
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

/**
 * Every node here shares 127.0.0.1, which the membership gate's per-host
 * limit on new inbound connections (5 a second by default) counts as one
 * host: a few restarts in a row would trip it. Institutions have hosts of
 * their own; a test of the limit passes its own.
 */
const LOOPBACK_INBOUND = { connections: 1_000, seconds: 1 }

export class TestNet {
  readonly parties: Party[]
  private readonly dir: string
  private readonly registry: RegistryFeed
  private readonly ledgers = new Map<string, Ledger>()
  private readonly running = new Map<string, NetworkNode>()

  private readonly governance: PartyKeys

  private constructor (dir: string, parties: Party[], registry: RegistryFeed, first: Ledger, governance: PartyKeys) {
    this.dir = dir
    this.parties = parties
    this.registry = registry
    this.governance = governance
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
    const net = new TestNet(dir, parties, registry, first, governance)
    cleanup.push(async () => { await net.close() })
    return net
  }

  party (id: string): Party { return this.parties.find((p) => p.id === id)! }

  /** The registry as its host (the first party) has it now: the feed of its ledger as last opened. */
  private async hostRegistry (): Promise<RegistryFeed> {
    return (await this.ledger(this.parties[0]!.id)).registry
  }

  /** Governance suspends or reinstates an institution (appended at the first party's ledger, which hosts the registry). */
  async setStatus (id: string, action: 'suspend' | 'reinstate'): Promise<number> {
    const registry = await this.hostRegistry()
    await registry.append(action, { institution: id as InstitutionId }, this.governance.sign)
    return registry.length
  }
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

  /** The directory of the party's ledger (a custodian's second node can be seeded there before its ledger opens). */
  dirOf (id: string): string { return join(this.dir, id) }

  /**
   * Starts the party's node, dials every running node (or only the parties
   * in `only`, the first of which then serves it the registry if it has
   * none), and waits for the registry and the replication channels.
   */
  async start (id: string, opts: Partial<NetworkNodeInit> = {}, only?: readonly string[]): Promise<NetworkNode> {
    const ledger = await this.ledger(id)
    const party = this.party(id)
    const bootstrapPeers = only === undefined ? [this.parties[0]!.peer] : only.slice(0, 1).map((o) => this.party(o).peer)
    const node = await NetworkNode.start({
      ledger, privateKey: party.p2p, bootstrapPeers, inboundLimit: LOOPBACK_INBOUND, ...(party.role === 'regulator' ? { signer: party.keys.sign } : {}), ...opts
    })
    const others = only === undefined ? this.nodes : only.map((o) => this.node(o))
    this.running.set(id, node)
    // Before it has the registry a node admits only its bootstrap peer; then everyone.
    const bootstrap = others.find((o) => bootstrapPeers.includes(o.peerId))
    // Its bootstrap down, a node that already holds the registry takes the rest of it from whoever runs.
    const first = bootstrap !== undefined ? [bootstrap] : others
    for (const other of first) await dialUntilConnected(node, other)
    const reachable = Math.max(1, ...others.map((o) => o.ledger.registry.length))
    await waitFor(() => ledger.registry.length >= reachable, `${id} to receive the registry`)
    for (const other of others) if (!first.includes(other)) await dialUntilConnected(node, other)
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

  /**
   * Waits until every running node (or each of the parties in `ids`) sees
   * every other one of them subscribed to both topics (a publish before that
   * may be dropped).
   */
  async meshed (ids?: readonly string[]): Promise<void> {
    const nodes = ids === undefined ? this.nodes : ids.map((id) => this.node(id))
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

/**
 * Dials `other` until connected: a dial can meet a reset while the other side
 * dials too (or just restarted); a few tries settle it.
 */
async function dialUntilConnected (node: NetworkNode, other: NetworkNode): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await node.dial(other.addresses[0]!)
      return
    } catch (err) {
      if (node.host.getConnections().some((c) => c.remotePeer.toString() === other.peerId)) return
      if (attempt >= 8) throw err
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt))
    }
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

/** Whether `ledger` holds `user`'s chain verified up to `length`. */
export async function holds (ledger: Ledger, user: UserId, length: number): Promise<boolean> {
  if (!ledger.hasChain(user)) return false
  return (await ledger.chain(user)).verifiedLength === length
}

/** Waits (15 s at most) until every one of `nodes` holds `user`'s chain verified up to `length`. */
export async function converged (nodes: readonly NetworkNode[], user: UserId, length: number, what: string): Promise<void> {
  await waitFor(async () => (await Promise.all(nodes.map(async (n) => await holds(n.ledger, user, length)))).every(Boolean), what, 15_000)
}
