/**
 * A node's network side, wired by hand in one place: the membership gate,
 * the libp2p host, replication, heads gossip (with reconciliation and fork
 * proofs), append forwarding, the my-chain answers for users' light peers
 * and (given the institution's signing key) the witness service, over a
 * ledger that is already open.
 */
import './polyfills.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import { equal, type UserId, type Entry, type InstitutionId, type SigningKeyPair } from '@healthchain/core'
import type { AppendResult, Ledger, PositionedEntry, ReadQuery, UserChain } from '@healthchain/ledger'
import { AppendService, appendToChain, type ForwardOptions } from './append-forwarding.js'
import { CatchUp, type CatchUpInit } from './catch-up.js'
import type { ChainBehind, ReplicationLag } from './chain-fetcher.js'
import { NetError } from './errors.js'
import { ForwardLanes } from './forward-lanes.js'
import { HeadsService, type ForkedChain, type HeadsBounds, type HeadsServiceInit, type HeadsStats } from './heads.js'
import { createHost, type Host } from './host.js'
import { MembershipGate, type MembershipGateInit } from './membership-gate.js'
import { MemberDialer } from './member-dialer.js'
import { MyChainService } from './my-chain.js'
import { ContinuationService } from './continuation-protocol.js'
import { Replication, type ReplicationInit } from './replication.js'
import type { AnyForkProof } from './wire/any-fork-proof.js'
import { verifyCosignature, type Cosignature } from './wire/cosignature.js'
import { headOf, type SignedHead } from './wire/head.js'
import type { WitnessRequest } from './wire/witness.js'
import { WitnessService, askWitness, headWithQuorum, type QuorumHead, type QuorumOptions } from './witness.js'

export const DEFAULT_CHAIN_IDLE_MS = 60_000
/** How long `knownCosignatures` waits for other witnesses by default: a page showing a head waits no longer. */
export const DEFAULT_COSIGNATURE_WAIT_MS = 2_000
/** Cosignatures `knownCosignatures` keeps per witness, newest first. */
export const MAX_COSIGNATURES_PER_WITNESS = 4

export interface NetworkNodeInit {
  readonly ledger: Ledger
  readonly privateKey: PrivateKey
  /** Default: TCP on an ephemeral loopback port. */
  readonly listen?: readonly string[]
  /** Peer ids trusted to serve the registry before this node has it. */
  readonly bootstrapPeers?: readonly string[]
  /** Become a replica of every chain a head announces (full nodes, regulators); default true. */
  readonly replicateAll?: boolean
  /**
   * The institution's signing key pair (as the registry lists it): starts the
   * witness service, which cosigns heads while the registry lists this
   * institution as an active regulator.
   */
  readonly signer?: SigningKeyPair
  /** The witness's cosignatures kept in memory, at most (the rest are read from disk); default DEFAULT_COSIGNATURES_IN_MEMORY. */
  readonly cosignaturesInMemory?: number
  /** Chains unused this long (and with nothing under way) are closed, reopened on next use (Ledger.closeIdle); 0 keeps them open. Default 60 s. */
  readonly chainIdleMs?: number
  /** Told of every inbound connection's verdict (full peer, light peer, refused), e.g. for an audit log. */
  readonly onInbound?: MembershipGateInit['onInbound']
  /** New inbound connections accepted from one host in a window (the gate's); default 5 a second. */
  readonly inboundLimit?: MembershipGateInit['inboundLimit']
  /** Limits on the cores this node opens to serve peers (replication.ts); defaults there. */
  readonly serving?: Pick<ReplicationInit, 'servedIdleMs' | 'maxServedPerPeer'>
  /**
   * Bounds on what heads of chains not held here make this node keep (head
   * log, first-head memory, fetcher, fork proofs), and how often it
   * reconciles heads with every peer; defaults in heads.ts.
   */
  readonly heads?: HeadsBounds & Pick<HeadsServiceInit, 'reconcileIntervalMs'>
  /** How often to dial active registry members (with addresses) this node is not connected to; 0 turns it off. Default 5 s. */
  readonly redialIntervalMs?: number
}

export interface NodeStatus {
  readonly peerId: string
  /** Full peers (institutions) with an open connection. */
  readonly peers: string[]
  /** Users' light peers with an open connection. */
  readonly lightPeers: number
  /** Chains this node holds, as custodian or replica. */
  readonly chains: number
  /** Of those, open in memory now. */
  readonly openChains: number
  /** Chains with a fork proof: their custodian signed two histories. */
  readonly forkedChains: ForkedChain[]
  /** Chains with a fetch queued, under way or waiting for the registry, and the blocks they lacked when a longer head was seen. */
  readonly replicationLag: ReplicationLag
  readonly heads: HeadsStats
}

export interface ChainRead {
  /** Entries up to what this node has verified (a replica never serves more). */
  readonly entries: PositionedEntry[]
  readonly verifiedLength: number
  /** Set when the chain's custodian signed two histories: the entries may not be the ones others see. */
  readonly fork: AnyForkProof | undefined
}

export interface KnownCosignatures {
  /** Active regulators of the current registry: the witnesses whose cosignatures count. */
  readonly witnesses: InstitutionId[]
  /** Valid cosignatures of the chain (each against its witness's registry key), newest first, at most MAX_COSIGNATURES_PER_WITNESS per witness. */
  readonly cosignatures: Cosignature[]
}

export interface AppendOptions extends ForwardOptions {
  /** The first position signed for; default the length of this node's copy of the chain. */
  readonly knownLength?: number
  /** Re-signs after STALE_POSITION; default 5. */
  readonly retries?: number
}

export class NetworkNode {
  /** Forwarded writes signed here, one at a time per chain; a custodian unreachable or not answering fails the waiting ones at once. */
  readonly lanes = new ForwardLanes({ sharesFailure: (err) => err instanceof NetError && (err.code === 'CUSTODIAN_UNREACHABLE' || err.code === 'TIMEOUT') })
  readonly host: Host
  readonly gate: MembershipGate
  readonly replication: Replication
  readonly appends: AppendService
  readonly heads: HeadsService
  private readonly hold: { catchUp?: CatchUp }
  /** Tells a user's light peer its own chain's key (`/healthchain/my-chain/1.0.0`). */
  readonly myChain: MyChainService
  /** The witness service, on a node given a signer. */
  readonly witness: WitnessService | undefined
  readonly dialer: MemberDialer
  readonly ledger: Ledger
  private readonly unsubscribe: () => void
  private readonly unfollowChanges: () => void
  private idleSweeper: NodeJS.Timeout | undefined
  private stopped = false

  private constructor (parts: {
    ledger: Ledger,
    host: Host,
    gate: MembershipGate,
    replication: Replication,
    appends: AppendService,
    heads: HeadsService,
    myChain: MyChainService,
    witness: WitnessService | undefined,
    dialer: MemberDialer,
    unfollowChanges: () => void,
    hold: { catchUp?: CatchUp }
  }) {
    this.hold = parts.hold
    this.ledger = parts.ledger
    this.unfollowChanges = parts.unfollowChanges
    this.host = parts.host
    this.gate = parts.gate
    this.replication = parts.replication
    this.appends = parts.appends
    this.heads = parts.heads
    this.myChain = parts.myChain
    this.witness = parts.witness
    this.dialer = parts.dialer
    // Re-check every connection whenever the registry changes: a suspended institution is cut off.
    this.unsubscribe = parts.gate.onChange(() => { void this.enforceMembership() })
  }

  static async start (init: NetworkNodeInit): Promise<NetworkNode> {
    // Users' light peers are let in for the chains this node holds (membership-gate.ts).
    const gate = new MembershipGate(init.ledger.registry, {
      bootstrapPeers: init.bootstrapPeers,
      userOfKey: (publicKey) => init.ledger.userOfSignKey(publicKey),
      onInbound: init.onInbound,
      ...(init.inboundLimit === undefined ? {} : { inboundLimit: init.inboundLimit })
    })
    const host = await createHost({ privateKey: init.privateKey, listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'], gate })
    const replication = new Replication({ ...init.serving, host, ledger: init.ledger, gate })
    await replication.start()
    const heads = new HeadsService({ host, ledger: init.ledger, gate, replication }, { ...init.heads, replicateAll: init.replicateAll })
    await heads.start()
    // Every append written here (own, forwarded in, or a custodian's direct write on the ledger) and every
    // enrolment queues the chain's head; publication skips chains this node is not custodian of.
    const unfollowChanges = init.ledger.onChange(({ user, kind }) => { if (kind !== 'ingest') heads.announce(user) })
    // Set by holdOwnWrites (a restored node): forwarded appends to its own chains wait for it too.
    const hold: { catchUp?: CatchUp } = {}
    const appends = new AppendService({ host, ledger: init.ledger, gate }, {
      assertMayWrite: async (user) => { await hold.catchUp?.assertMayWrite(user) }
    })
    await appends.start()
    const myChain = new MyChainService({ host, ledger: init.ledger, gate })
    await myChain.start()
    await ContinuationService.start({ host, ledger: init.ledger, gate, replication })
    let witness: WitnessService | undefined
    if (init.signer !== undefined) {
      const witnessInit = { signer: init.signer, ...(init.cosignaturesInMemory === undefined ? {} : { cosignaturesInMemory: init.cosignaturesInMemory }) }
      witness = new WitnessService({ host, ledger: init.ledger, gate, isForked: (key) => heads.isForked(key) }, witnessInit)
      await witness.start()
    }
    const dialer = new MemberDialer({ host, ledger: init.ledger, gate }, { intervalMs: init.redialIntervalMs ?? 5_000 })
    dialer.start()
    const node = new NetworkNode({ ledger: init.ledger, host, gate, replication, appends, heads, myChain, witness, dialer, unfollowChanges, hold })
    node.closeIdleChainsEvery(init.chainIdleMs ?? DEFAULT_CHAIN_IDLE_MS)
    return node
  }

  /** A node may hold millions of chains: only the ones in use stay open. */
  private closeIdleChainsEvery (idleMs: number): void {
    if (idleMs <= 0) return
    this.idleSweeper = setInterval(() => { this.ledger.closeIdle(idleMs).catch(() => {}) }, Math.max(100, Math.floor(idleMs / 2)))
    this.idleSweeper.unref()
  }

  get peerId (): string { return this.host.peerId.toString() }
  get addresses (): string[] { return this.host.getMultiaddrs().map((a) => a.toString()) }

  /** Dials a peer by multiaddr (with /p2p/<id>); the gate decides whether the connection stands. */
  async dial (address: string): Promise<void> {
    await this.host.dial(multiaddr(address))
  }

  /**
   * Appends an entry to `user`'s chain at its custodian (this node, or the
   * one the genesis names, by forwarding): `sign(seq)` signs the same entry
   * for a position, again after STALE_POSITION. Resolves once the custodian
   * has durably appended it; see append-forwarding.ts for the errors.
   */
  async append (user: UserId, sign: (seq: number) => Entry, opts: AppendOptions = {}): Promise<AppendResult> {
    if (this.ledger.hasChain(user)) await this.assertMayWrite(user)
    const write = async (knownLength?: number): Promise<AppendResult> =>
      await appendToChain({ ...opts, ...(knownLength === undefined ? {} : { knownLength }), ledger: this.ledger, host: this.host, user, sign })
    // Forwarded writes this node re-signs go one at a time per chain (forward-lanes.ts); an entry signed for one position does not.
    const result = opts.retries !== 0 && await this.forwards(user)
      ? await this.lanes.run(user, async (next) => await write(Math.max(opts.knownLength ?? 0, next, (await this.ledger.chain(user)).length)))
      : await write()
    // Announced from the ledger's change event (at the custodian, this node or another).
    return result
  }

  /**
   * Holds writes to this node's own chains until it has caught up with its peers (a node restored from a backup;
   * catch-up.ts): HTTP writes, forwarded appends and moves all ask `assertMayWrite` first. Once per node.
   */
  holdOwnWrites (init: CatchUpInit = {}): CatchUp {
    if (this.hold.catchUp !== undefined) throw new NetError('INVALID_FIELD', 'writes are held already', { field: 'catchUp' })
    this.hold.catchUp = new CatchUp({ ledger: this.ledger, heads: this.heads }, init)
    return this.hold.catchUp
  }

  /** The hold on a restored node's own writes, if one was set (holdOwnWrites). */
  get catchUp (): CatchUp | undefined { return this.hold.catchUp }

  /** Throws CATCHING_UP while a write to `user`'s chain, held here as its custodian, must wait (holdOwnWrites); else nothing. */
  async assertMayWrite (user: UserId): Promise<void> {
    await this.hold.catchUp?.assertMayWrite(user)
  }

  /** Whether a write to `user`'s chain goes to another node (this one holds a replica, not the writing key). */
  private async forwards (user: UserId): Promise<boolean> {
    return this.ledger.hasChain(user) && !(await this.ledger.chain(user)).writable
  }

  /** Enrols a user here (`Ledger.enrol`); the new chain's head is announced from the ledger's change event. */
  async enrol (genesis: Entry): Promise<UserChain> {
    return await this.ledger.enrol(genesis)
  }

  /** Reads `user`'s chain as this node holds it, saying whether the chain is forked. */
  async read (user: UserId, query: ReadQuery = {}): Promise<ChainRead> {
    const chain = await this.ledger.chain(user)
    const end = Math.min(query.end ?? chain.length, chain.writable ? chain.length : chain.verifiedLength)
    return { entries: await chain.read({ ...query, end }), verifiedLength: chain.verifiedLength, fork: this.heads.forkOf(chain.key) }
  }

  /** Fork proofs known here (either kind), one per forked chain. */
  get forks (): AnyForkProof[] { return this.heads.forks }

  /** Whether the chain with this key is forked (its custodian signed two histories). */
  isForked (chainKey: Uint8Array): boolean { return this.heads.isForked(chainKey) }

  /**
   * The highest head of a chain cosigned by `quorum` distinct witnesses
   * (active regulators of the registry), with their cosignatures; NO_QUORUM
   * otherwise. See witness.ts.
   */
  async headWithQuorum (chainKey: Uint8Array, opts: QuorumOptions): Promise<QuorumHead> {
    return await headWithQuorum(this, chainKey, opts)
  }

  /**
   * The signed head of `user`'s chain as held here: a custodian's newest, a
   * replica's as stored (verified against its signer on the way);
   * undefined while the chain has none. UNKNOWN_CHAIN if not held here.
   */
  async signedHeadOf (user: UserId): Promise<SignedHead | undefined> {
    const chain = await this.ledger.chain(user)
    if (chain.length === 0) return undefined
    try {
      return await headOf(chain, this.ledger.crypto)
    } catch (err) {
      if (err instanceof NetError && err.code === 'NO_HEAD') return undefined
      throw err
    }
  }

  /**
   * The cosignatures of a chain that the witnesses (active regulators of the
   * current registry) give now, each checked against the signing key the
   * registry lists for it. This node's own witness service answers at once
   * (considering its replica's current head first, as a witness request
   * does); every other witness is asked at once over the network and given
   * `timeoutMs` (default 2 s) in all: one that does not answer by then adds
   * nothing. So the wait is bounded, and nothing is kept between calls.
   */
  async knownCosignatures (chainKey: Uint8Array, opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<KnownCosignatures> {
    const witnesses = this.ledger.registry.state.institutions().filter((r) => r.role === 'regulator' && r.status === 'active')
    const request: WitnessRequest = { v: 1, key: chainKey }
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_COSIGNATURE_WAIT_MS), ...(opts.signal === undefined ? [] : [opts.signal])])
    const answers = await Promise.allSettled(witnesses.map(async (w) => {
      if (w.peer === this.peerId && this.witness !== undefined) return await this.witness.answer(request)
      if (w.peer === undefined || w.peer === this.peerId) return { cosignatures: [] }
      return await askWitness(this.host, w.peer, request, signal)
    }))
    const byWitness = new Map<string, Map<number, Cosignature>>()
    answers.forEach((answer, i) => {
      if (answer.status !== 'fulfilled') return
      const record = witnesses[i]!
      const kept = byWitness.get(record.id) ?? new Map<number, Cosignature>()
      for (const c of answer.value.cosignatures) {
        // Only the witness asked speaks for itself, of the chain asked, under the key the registry lists now.
        if (c.witness !== record.id || !equal(c.head.key, chainKey) || kept.has(c.head.length)) continue
        if (verifyCosignature(c, record.sign, this.ledger.crypto)) kept.set(c.head.length, c)
      }
      byWitness.set(record.id, kept)
    })
    const cosignatures = [...byWitness.values()]
      .flatMap((kept) => [...kept.values()].sort((a, b) => b.head.length - a.head.length).slice(0, MAX_COSIGNATURES_PER_WITNESS))
      .sort((a, b) => b.head.length - a.head.length || a.witness.localeCompare(b.witness))
    return { witnesses: witnesses.map((w) => w.id), cosignatures }
  }

  /** The chains behind here (key hex, blocks missing), as `status().replicationLag` counts them: O(chains behind). */
  chainsBehind (): ChainBehind[] { return this.heads.chainsBehind() }

  status (): NodeStatus {
    const connected = [...new Set(this.host.getConnections().map((c) => c.remotePeer.toString()))]
    const peers = connected.filter((peer) => this.gate.admits(peer))
    return {
      peerId: this.peerId,
      peers,
      lightPeers: connected.length - peers.length,
      chains: this.ledger.chainCount,
      openChains: this.ledger.openChainCount,
      forkedChains: this.heads.forkedChains(),
      replicationLag: this.heads.replicationLag(),
      heads: this.heads.stats
    }
  }

  private async enforceMembership (): Promise<void> {
    this.replication.revoke()
    for (const connection of this.host.getConnections()) {
      if (!this.gate.accepts(connection.remotePeer)) await connection.close().catch(() => {})
    }
  }

  /** Stops the node (appends under way at this custodian finish first); a second call does nothing. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.idleSweeper)
    this.hold.catchUp?.stop()
    this.unsubscribe()
    this.unfollowChanges()
    await this.dialer.stop()
    await this.appends.stop()
    await this.myChain.stop()
    await this.witness?.stop()
    await this.heads.stop()
    await this.replication.stop()
    await this.host.stop()
    this.gate.close()
  }
}
