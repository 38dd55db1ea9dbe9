/**
 * A user's light peer: what a phone runs on the network side.
 *
 * Its libp2p identity is the user's own signing key in force, which is how
 * full nodes know whose light peer it is (membership-gate.ts). After a
 * rekey the old key is refused (and a connection under it cut off), so
 * `changeIdentity` restarts the network side under the new key: the same
 * object, a new host and replication; the caller dials its nodes again. It listens on
 * nothing, runs no gossip, dials the nodes it is told to, and replicates
 * only two cores: the registry (to check every author) and its own chain,
 * which it re-verifies entry by entry like any replica (UserChain.ingest).
 * Nodes serve it nothing else, whatever it asks for.
 *
 * Writes go to the chain's custodian over /healthchain/append (the user's
 * own entries: exercise, location, consent, erasure), acknowledged only once
 * durably appended, exactly as a forwarded write from a full node.
 *
 * A fresh device (only the recovery phrase) finds its chain's key with
 * /healthchain/my-chain (my-chain.ts): a node answers the connection's own
 * user only, and the answer is checked against block 0 before it is used.
 *
 * Witnessed heads: with a quorum above 0 (by default more than half of the
 * registry's active regulators; 0 only as an explicit opt-out or when the
 * registry lists no regulator), `sync` first asks the registry's
 * active regulators (dialled by the addresses the registry lists; a witness
 * answers a light peer about its own chain only) for the highest head of
 * the chain that `quorum` of them cosigned (witness.ts, `headWithQuorum`),
 * and only then fetches: NO_QUORUM before anything of the chain is fetched
 * if no head has enough valid cosignatures. The chain fetched must hold that
 * head (same fork, same tree root at its length) — a custodian showing this
 * device another history than the witnesses saw is refused (NO_QUORUM too:
 * its head has no cosignature). Blocks past the witnessed length may arrive
 * (Hypercore takes the node's length) and are verified, but the caller
 * trusts only up to `witnessed.head.length` (packages/client caps what the
 * phone shows there).
 */
import './polyfills.js'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { equal, userIdFromKey, type Entry, type SigningKeyPair, type UserId } from '@healthchain/core'
import type { AppendResult, IngestResult, Ledger, PositionedEntry, ReadQuery, UserChain } from '@healthchain/ledger'
import { appendToChain, type ForwardOptions } from './append-forwarding.js'
import { NetError } from './errors.js'
import { createLightHost, type BaseHost } from './host.js'
import { MembershipGate } from './membership-gate.js'
import { findMyChain, type MyChain, type MyChainOptions } from './my-chain.js'
import { Replication, type FetchOptions } from './replication.js'
import { headWithQuorum, type QuorumHead } from './witness.js'

export interface LightPeerInit {
  /** The device's ledger: opened without an institution; it will follow the registry with `registryKey`. */
  readonly ledger: Ledger
  readonly registryKey: Uint8Array
  /** The user's signing key pair in force: the peer's libp2p identity. It never leaves this process. */
  readonly user: SigningKeyPair
  /** The user whose key it is; default the user id of `user` (a generation-0 key), required for a rotated key. */
  readonly userId?: UserId
  /** Peer ids of the nodes this device first talks to, trusted to serve the registry before it has one. */
  readonly bootstrapPeers?: readonly string[]
}

export interface SyncResult {
  readonly chain: UserChain
  readonly ingest: IngestResult
  /** The quorum demanded (`majority` resolved against the registry as synced). */
  readonly quorum: number
  /** With a quorum above 0: the witnessed head the chain was checked against, and its cosignatures. */
  readonly witnessed?: QuorumHead
}

export interface LightSyncOptions extends FetchOptions {
  /** Wait until the chain has at least this many blocks. */
  readonly length?: number
  /**
   * Distinct active regulators whose cosignatures the head must have: a
   * number (0: none asked, an explicit opt-out), or `majority` (default) —
   * more than half of the active regulators of the registry as just synced,
   * which is 0 only when it lists none.
   */
  readonly quorum?: number | 'majority'
  /** Node multiaddrs (with /p2p/<id>) this device knows, tried for a witness after the addresses the registry lists. */
  readonly nodes?: readonly string[]
}

export interface WitnessedHeadOptions extends FetchOptions {
  readonly quorum: number
  /** Only heads of at least this length. */
  readonly minLength?: number
  /** Node multiaddrs (with /p2p/<id>) this device knows, tried for a witness after the addresses the registry lists. */
  readonly nodes?: readonly string[]
}

/** More than half of the registry's active regulators: 0 when it lists none. */
export function majorityQuorum (registry: Ledger['registry']): number {
  const n = registry.state.institutions().filter((r) => r.role === 'regulator' && r.status === 'active').length
  return n === 0 ? 0 : Math.floor(n / 2) + 1
}

export class LightPeer {
  readonly userId: UserId
  readonly gate: MembershipGate
  readonly ledger: Ledger
  private network: { host: BaseHost, replication: Replication }
  private stopped = false

  private constructor (userId: UserId, ledger: Ledger, gate: MembershipGate, network: { host: BaseHost, replication: Replication }) {
    this.userId = userId
    this.ledger = ledger
    this.gate = gate
    this.network = network
  }

  static async start (init: LightPeerInit): Promise<LightPeer> {
    const { ledger } = init
    if (!ledger.hasRegistry) await ledger.followRegistry(init.registryKey)
    const gate = new MembershipGate(ledger.registry, { bootstrapPeers: init.bootstrapPeers })
    try {
      return new LightPeer(init.userId ?? userIdFromKey(init.user.publicKey), ledger, gate, await startNetwork(ledger, gate, init.user))
    } catch (err) {
      gate.close()
      throw err
    }
  }

  /** The libp2p host now: another object after `changeIdentity`, so hold the LightPeer, not this. */
  get host (): BaseHost { return this.network.host }
  /** The replication service now: another object after `changeIdentity`. */
  get replication (): Replication { return this.network.replication }
  get peerId (): string { return this.host.peerId.toString() }
  /** The raw Ed25519 key this peer connects under. */
  get identity (): Uint8Array { return this.host.peerId.publicKey!.raw }

  /**
   * Restarts the network side under another of the user's keys (the one a
   * rekey put in force, or a candidate while the device does not know its
   * generation yet): every connection is closed, fetches under way end with
   * STOPPED; the ledger stays as it is. Dial the nodes again after. Nothing
   * happens for the key in use already. STOPPED once stopped.
   */
  async changeIdentity (user: SigningKeyPair): Promise<void> {
    if (this.stopped) throw new NetError('STOPPED', 'the light peer stopped')
    if (equal(this.identity, user.publicKey)) return
    const before = this.network
    await before.replication.stop()
    await before.host.stop()
    this.network = await startNetwork(this.ledger, this.gate, user)
  }

  /** Dials a node by multiaddr (with /p2p/<id>, TCP or WebSockets); the replication channel opens by itself. */
  async connect (address: string): Promise<void> {
    await this.host.dial(multiaddr(address))
  }

  /**
   * Brings this device's copy of its own chain (key `chainKey`) up to what a
   * connected node has, after the registry: every new entry re-verified.
   * NO_PEER without a connected node, or when no node serves this chain to
   * this user (wrong key, or not enrolled); TIMEOUT past `timeoutMs` (default 10 s).
   * With `length`, waits until the chain has at least that many blocks (an
   * append this device was told of, whose block is still on its way).
   * With a quorum above 0 (by default a majority of the registry's active
   * regulators), the witnessed head first (see the DEV DOCS): NO_QUORUM
   * when no head has `quorum` valid cosignatures (nothing of the chain is
   * fetched then) or when the chain served is not the witnessed one.
   *
   * The registry and the chain are held active while fetching: a core opened
   * inactive (as the store opens everything) whose copy is complete closes
   * its replication channel as soon as both sides say they are not
   * downloading, and an update then finds no peer and returns at once — so
   * a device reopened after an app restart would never see new entries.
   */
  async sync (chainKey: Uint8Array, opts: LightSyncOptions = {}): Promise<SyncResult> {
    const { quorum: asked = 'majority', nodes, ...fetch } = opts
    if (asked !== 'majority' && (!Number.isSafeInteger(asked) || asked < 0)) {
      throw new NetError('INVALID_FIELD', 'quorum is an integer, 0 or more, or majority', { field: 'quorum' })
    }
    const held: Array<{ setActive: (active: boolean) => void }> = [this.ledger.registry.core]
    if (this.ledger.hasChain(this.userId)) held.push(await this.ledger.chain(this.userId))
    for (const feed of held) feed.setActive(true)
    try {
      await this.syncRegistry(fetch)
      const quorum = asked === 'majority' ? majorityQuorum(this.ledger.registry) : asked
      if (quorum === 0) {
        const result = await this.replication.fetchChain(this.userId, chainKey, fetch)
        if (result.chain.length === 0) throw new NetError('NO_PEER', 'no connected node serves this chain to this user')
        return { ...result, quorum }
      }
      const witnessed = await this.askWitnesses(chainKey, { ...fetch, quorum, ...(nodes === undefined ? {} : { nodes }) })
      const result = await this.replication.fetchChain(this.userId, chainKey, { ...fetch, length: Math.max(fetch.length ?? 0, witnessed.head.length) })
      await assertHolds(result.chain, witnessed)
      return { ...result, quorum, witnessed }
    } finally {
      for (const feed of held) feed.setActive(false)
    }
  }

  /**
   * The highest head of `chainKey` cosigned by `quorum` distinct active
   * regulators, after the registry (from a connected node, as `sync`): each
   * regulator not connected yet is dialled first, by the addresses the
   * registry lists for it, then by those of `nodes` naming its peer id —
   * best effort, one that cannot be reached adds nothing. NO_QUORUM with how
   * many cosignatures the best head had, INVALID_FIELD for a quorum below 1,
   * NO_PEER / TIMEOUT as for the registry. Fetches nothing of the chain.
   */
  async witnessedHead (chainKey: Uint8Array, opts: WitnessedHeadOptions): Promise<QuorumHead> {
    if (this.stopped) throw new NetError('STOPPED', 'the light peer stopped')
    const registry = this.ledger.registry.core
    registry.setActive(true)
    try {
      await this.syncRegistry(opts)
    } finally {
      registry.setActive(false)
    }
    return await this.askWitnesses(chainKey, opts)
  }

  private async askWitnesses (chainKey: Uint8Array, opts: WitnessedHeadOptions): Promise<QuorumHead> {
    await this.dialWitnesses(opts)
    return await headWithQuorum({ host: this.host, ledger: this.ledger }, chainKey, {
      quorum: opts.quorum,
      timeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.minLength === undefined ? {} : { minLength: opts.minLength }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal })
    })
  }

  /** Connects to every active regulator not connected yet, all at once, by the registry's addresses, then the known ones. */
  private async dialWitnesses (opts: WitnessedHeadOptions): Promise<void> {
    const connected = new Set(this.host.getConnections().map((c) => c.remotePeer.toString()))
    const witnesses = this.ledger.registry.state.institutions().filter((r) => r.role === 'regulator' && r.status === 'active' && r.peer !== undefined)
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? 10_000), ...(opts.signal === undefined ? [] : [opts.signal])])
    await Promise.allSettled(witnesses.filter((w) => !connected.has(w.peer!)).map(async (w) => {
      const known = (opts.nodes ?? []).filter((a) => a.endsWith(`/p2p/${w.peer!}`))
      for (const a of [...w.addrs.map((x) => x.includes('/p2p/') ? x : `${x}/p2p/${w.peer!}`), ...known]) {
        try {
          await this.host.dial(multiaddr(a), { signal })
          return
        } catch {
          // The next address; a witness not reached adds no cosignature.
        }
      }
    }))
  }

  /** Waits for the registry's current length from a connected node, and applies it. */
  private async syncRegistry (opts: FetchOptions): Promise<void> {
    const core = this.ledger.registry.core
    const timeoutMs = opts.timeoutMs ?? 10_000
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(opts.signal === undefined ? [] : [opts.signal])])
    if (this.host.getConnections().length === 0) throw new NetError('NO_PEER', 'no node is connected')
    try {
      await raceAbort(this.channelOpen(), signal)
      await raceAbort(core.update({ wait: true }), signal)
      if (core.length > 0) await raceAbort(core.download({ start: 0, end: core.length }).done(), signal)
    } catch (err) {
      if (signal.aborted) throw new NetError('TIMEOUT', `fetching the registry took longer than ${timeoutMs} ms`, { cause: err })
      throw err
    }
    await this.ledger.registry.refresh()
  }

  /** Resolves once a replication channel with a node is open (it opens right after a connection). */
  private async channelOpen (): Promise<void> {
    if (this.replication.peers.length > 0) return
    await new Promise<void>((resolve) => {
      const off = this.replication.onChannel(() => { off(); resolve() })
    })
  }

  /**
   * Asks the connected nodes for this user's chain key and the custodian its
   * genesis names (`/healthchain/my-chain/1.0.0`), all at once; the first
   * answer wins. A node answers only about the user at the other end of the
   * connection, and only if it holds that user's chain. Throws NetError:
   * NO_PEER (no node connected), REFUSED (every node refused; `remoteCode`
   * e.g. UNKNOWN_CHAIN), TIMEOUT past `timeoutMs` (default 10 s), STOPPED.
   * The answer is a node's word: check block 0 before trusting it (as
   * PhoneClient does).
   */
  async findChainKey (opts: MyChainOptions = {}): Promise<MyChain> {
    if (this.stopped) throw new NetError('STOPPED', 'the light peer stopped')
    // Only full peers: the gate lets this host connect to nothing else, so this is a safeguard, not a filter.
    const nodes = new Map(this.host.getConnections().filter((c) => this.gate.admits(c.remotePeer)).map((c) => [c.remotePeer.toString(), c.remotePeer]))
    return await findMyChain(this.host, [...nodes.values()], opts)
  }

  /**
   * Writes an entry the user signed (`sign(seq)` signs it for a position,
   * again after STALE_POSITION) through the chain's custodian; resolves once
   * durably appended. The chain must have been synced once (its genesis
   * names the custodian). Errors as in append-forwarding.ts. `knownLength`
   * (default: this device's copy's length) is the first position signed for:
   * a writer that just appended several entries knows the chain is longer
   * than its copy, and saves a STALE_POSITION round trip per entry.
   */
  async append (sign: (seq: number) => Entry, opts: ForwardOptions & { retries?: number, knownLength?: number } = {}): Promise<AppendResult> {
    if (this.stopped) throw new NetError('STOPPED', 'the light peer stopped')
    return await appendToChain({ ...opts, ledger: this.ledger, host: this.host, user: this.userId, sign })
  }

  /** The user's chain as this device has verified it. */
  async read (query: ReadQuery = {}): Promise<PositionedEntry[]> {
    const chain = await this.ledger.chain(this.userId)
    return await chain.read({ ...query, end: Math.min(query.end ?? chain.verifiedLength, chain.verifiedLength) })
  }

  /** Stops the peer; the ledger stays open (its owner closes it). A second call does nothing. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.replication.stop()
    await this.host.stop()
    this.gate.close()
  }
}

async function startNetwork (ledger: Ledger, gate: MembershipGate, user: SigningKeyPair): Promise<{ host: BaseHost, replication: Replication }> {
  const host = await createLightHost({ privateKey: privateKeyFromRaw(user.secretKey), listen: [], gate })
  const replication = new Replication({ host, ledger, gate, mode: 'light' })
  try {
    await replication.start()
  } catch (err) {
    await Promise.resolve(host.stop()).catch(() => {})
    throw err
  }
  return { host, replication }
}

/** NO_QUORUM unless the fetched chain holds the witnessed head: verified that far, same fork, same tree root at its length. */
async function assertHolds (chain: UserChain, witnessed: QuorumHead): Promise<void> {
  const { head } = witnessed
  if (chain.verifiedLength < head.length) {
    throw new NetError('NO_QUORUM', `the chain served verifies to ${chain.verifiedLength} blocks, short of the witnessed head at ${head.length}`)
  }
  if (chain.fork !== head.fork || !equal(await chain.treeHashAt(head.length), head.root)) {
    throw new NetError('NO_QUORUM', `the chain served is not the one the witnesses cosigned at length ${head.length}: its head there has no cosignature`)
  }
}

async function raceAbort<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {})
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
