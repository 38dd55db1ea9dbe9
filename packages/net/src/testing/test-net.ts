/**
 * The net level of the consortium harness: real NetworkNodes over loopback
 * for the parties of a ledger-level consortium (`@healthchain/ledger/testing`,
 * which created the registry, admitted every party with its libp2p peer id
 * and gives each a ledger in one temporary directory). Nodes are started and
 * stopped at will (a regulator's node gets its signing key, so it
 * witnesses); the teardown is registered with the cleanup hook passed to
 * `create`, or run by `close()`.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import {
  buildExam, buildGenesis, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type InstitutionId, type InstitutionRole, type PartyKeys, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import type { Ledger, RegistryFeed, UserChain } from '@healthchain/ledger'
import { LedgerConsortium, registerCleanup, type Cleanup, type Institution, type OnCleanup } from '@healthchain/ledger/testing'
import { FORKS_TOPIC, HEADS_TOPIC, NetworkNode, type NetworkNodeInit } from '../index.js'
import { waitFor } from './wait.js'

export { crypto, type Cleanup, type OnCleanup }

/** An institution with a libp2p identity. */
export interface Party extends Institution { readonly p2p: PrivateKey, readonly peer: string }

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
export const LOOPBACK_INBOUND = { connections: 1_000, seconds: 1 }

export interface TestNetInit {
  /** The consortium's name in the registry (default 'Test network'). */
  readonly name?: string
  /** Options every node of this network starts with (`start`'s own options override them). */
  readonly nodeDefaults?: Partial<NetworkNodeInit>
}

export class TestNet {
  /** The ledger level under this network: registry, parties, their ledgers and directories. */
  readonly consortium: LedgerConsortium<Party>
  private readonly running = new Map<string, NetworkNode>()

  private readonly nodeDefaults: Partial<NetworkNodeInit>

  private constructor (consortium: LedgerConsortium<Party>, nodeDefaults: Partial<NetworkNodeInit>) {
    this.consortium = consortium
    this.nodeDefaults = nodeDefaults
  }

  /** A consortium of `specs` (the first hosts the registry), its teardown registered with `onCleanup`. */
  static async create (specs: ReadonlyArray<readonly [string, InstitutionRole]>, onCleanup?: OnCleanup, init: TestNetInit = {}): Promise<TestNet> {
    const parties = await Promise.all(specs.map(async ([id, role]) => await makeParty(id, role)))
    const consortium = await LedgerConsortium.create({
      parties, name: init.name ?? 'Test network', prefix: 'healthchain-net-', ledger: { crypto, verifyWorkers: 0 }
    })
    const net = new TestNet(consortium, init.nodeDefaults ?? {})
    registerCleanup(onCleanup, async () => { await net.close() })
    return net
  }

  get parties (): readonly Party[] { return this.consortium.parties }
  get governance (): PartyKeys { return this.consortium.governance }
  party (id: string): Party { return this.consortium.party(id) }

  /** Governance suspends or reinstates an institution (appended at the first party's ledger, which hosts the registry). */
  async setStatus (id: string, action: 'suspend' | 'reinstate'): Promise<number> {
    return await this.consortium.setStatus(id, action)
  }

  get registryKey (): Uint8Array { return this.consortium.registryKey }
  /** The directory of the party's ledger (its Corestore). */
  dataDir (id: string): string { return this.consortium.dirOf(id) }
  node (id: string): NetworkNode { return this.running.get(id)! }
  get nodes (): NetworkNode[] { return [...this.running.values()] }

  /** The party's ledger, opened (again) if closed. */
  async ledger (id: string): Promise<Ledger> { return await this.consortium.ledger(id) }

  /** The registry as its host (the first party) has it now. */
  async hostRegistry (): Promise<RegistryFeed> { return await this.consortium.hostRegistry() }

  /** The directory of the party's ledger (a custodian's second node can be seeded there before its ledger opens). */
  dirOf (id: string): string { return this.consortium.dirOf(id) }

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
      ledger, privateKey: party.p2p, bootstrapPeers, inboundLimit: LOOPBACK_INBOUND, ...(party.role === 'regulator' ? { signer: party.keys.sign } : {}), ...this.nodeDefaults, ...opts
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
    await this.consortium.closeLedger(id)
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

  /** Stops every node, then closes the ledgers and removes the directory. */
  async close (): Promise<void> {
    for (const id of [...this.running.keys()]) await this.stop(id)
    await this.consortium.close()
  }
}

/**
 * Dials `other` until connected: a dial can meet a reset while the other side
 * dials too (or just restarted); a few tries settle it.
 */
export async function dialUntilConnected (node: NetworkNode, other: NetworkNode): Promise<void> {
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
    author: author.id,
    reg: node.ledger.registry.length,
    chainKey,
    plain: { title: 'Blood pressure', observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] },
    sealed: { notes: 'seen at the clinic' },
    recipients: [user.box.publicKey, author.keys.box.publicKey]
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
