/**
 * DEV DOCS — Hypercore replication over libp2p.
 *
 * One `/healthchain/replicate/1.0.0` stream per pair of admitted peers (the
 * peer with the smaller id opens it), bridged to a Node Duplex
 * (stream-bridge.ts), carrying Hypercore's protocol for many cores.
 *
 * Nothing is announced wholesale: the store is opened with `active: false`.
 * The registry is attached to every peer stream as soon as it opens (it is
 * what membership rests on). A chain is attached to full peers' streams only
 * when this node fetches it (`fetchChain`), and served when a peer asks for
 * its discovery key — if `authorize` says yes: full members may fetch any
 * chain, a user's light peer only its own (membership-gate.ts); a refused
 * request simply never pairs.
 *
 * Served cores are sessions opened on demand: each is closed once it has
 * uploaded nothing for `servedIdleMs`, and a peer holds at most
 * `maxServedPerPeer` of them open (the least recently used is closed first),
 * so no peer can make this node keep many chains in memory.
 *
 * A light peer (mode 'light', a phone) opens the channel itself to every
 * full node it connects to, fetches only its own chain, and serves nothing.
 *
 * Every block Hypercore accepts has passed its own checks (tree hash, the
 * custodian's signature); the ledger then re-checks every entry
 * (`UserChain.ingest`) before it is folded and served — while the fetch
 * still runs, in passes over what has arrived (`ingestAsArriving`).
 *
 * A chain this node does not hold yet is fetched by key alone
 * (`fetchGenesis`): block 0 names the user, so the node can become a replica
 * (heads.ts does this when a head announces a chain it does not hold).
 * `onChannel` tells when a peer's channel opens (heads-sync starts then, so
 * the heads it learns can be fetched over that channel at once).
 */
import Hypercore from 'hypercore'
import type { PeerId, Stream } from '@libp2p/interface'
import { bytesToHex, decodeEntry, equal, type Entry, type UserId } from '@healthchain/core'
import { downloadUnerased, readLayout, type ChainLayout, type Ledger, type UserChain, type IngestResult } from '@healthchain/ledger'
import { NetError } from './errors.js'
import type { BaseHost } from './host.js'
import { publicKeyOf, type MembershipGate } from './membership-gate.js'
import { watchRetiredKeys } from './retired-keys.js'
import { StreamBridge } from './stream-bridge.js'
import { withTimeout } from './with-timeout.js'

export const REPLICATE_PROTOCOL = '/healthchain/replicate/1.0.0'

type ProtocolStream = ReturnType<typeof Hypercore.createProtocolStream>

/** A served core is closed after this long without uploading anything. */
export const DEFAULT_SERVED_IDLE_MS = 10_000
/** Served cores one peer may hold open at once. */
export const DEFAULT_MAX_SERVED_PER_PEER = 1_000

export interface ReplicationInit {
  readonly host: BaseHost
  readonly ledger: Ledger
  readonly gate: MembershipGate
  /** 'full' (an institution's node, the default) or 'light' (a user's phone: fetches its own chain, serves nothing). */
  readonly mode?: 'full' | 'light'
  readonly servedIdleMs?: number
  readonly maxServedPerPeer?: number
}

interface ServedCore {
  readonly core: Hypercore
  lastUsed: number
}

interface PeerChannel {
  readonly proto: ProtocolStream
  /** Set for a light peer: the only user whose chain it may fetch. */
  readonly lightUser: UserId | undefined
  /** Core sessions opened to serve this peer, by discovery key (hex), least recently used first. */
  readonly served: Map<string, ServedCore>
}

/** Blocks missing in a fetch from which the ledger's verification workers are started (if not already). */
const WARM_WORKERS_AT = 256

export class Replication {
  private readonly host: BaseHost
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly light: boolean
  private readonly servedIdleMs: number
  private readonly maxServedPerPeer: number
  private readonly channels = new Map<string, PeerChannel>()
  /** Sessions this node is fetching with (and how many fetches use each): attached to every full peer's channel, present and future. */
  private readonly fetching = new Map<Fetched, number>()
  private readonly channelListeners = new Set<(peer: string) => void>()
  /** Light channels open per user: a chain change looks for its user's phones here, not through every channel. */
  private readonly lightUsers = new Map<UserId, number>()
  private unwatchKeys: (() => void) | undefined
  /** Aborted by stop(): fetches under way end with STOPPED. */
  private readonly controller = new AbortController()
  private sweeper: NodeJS.Timeout | undefined
  private unfollowRegistry: (() => void) | undefined
  private stopped = false
  private readonly onConnect = (event: CustomEvent<PeerId>): void => { void this.open(event.detail) }

  constructor (init: ReplicationInit) {
    this.host = init.host
    this.ledger = init.ledger
    this.gate = init.gate
    this.light = init.mode === 'light'
    this.servedIdleMs = init.servedIdleMs ?? DEFAULT_SERVED_IDLE_MS
    this.maxServedPerPeer = init.maxServedPerPeer ?? DEFAULT_MAX_SERVED_PER_PEER
  }

  async start (): Promise<void> {
    await this.host.handle(REPLICATE_PROTOCOL, (stream, connection) => {
      this.attach(connection.remotePeer.toString(), stream, false)
    })
    this.host.addEventListener('peer:connect', this.onConnect)
    this.followRegistry()
    if (!this.light) this.unwatchKeys = watchRetiredKeys(this.host, this.ledger, this)
    this.sweeper = setInterval(() => { this.closeIdleServed() }, Math.max(100, Math.floor(this.servedIdleMs / 2)))
    this.sweeper.unref()
  }

  /** Cores opened to serve peers, now open. */
  get servedCount (): number {
    let count = 0
    for (const channel of this.channels.values()) count += channel.served.size
    return count
  }

  /** Peers this node has a replication channel with. */
  get peers (): string[] { return [...this.channels.keys()] }

  /** Calls `listener` with the peer id whenever a replication channel opens (either side); returns an unsubscribe. */
  onChannel (listener: (peer: string) => void): () => void {
    this.channelListeners.add(listener)
    return () => { this.channelListeners.delete(listener) }
  }

  /**
   * Keeps downloading the registry as it grows, and applies what arrives.
   * Active, not only a download range: the store opens every core passive,
   * and Hypercore closes a channel on which neither side is downloading — a
   * node restarted after missing a registry entry then never got it (its
   * fresh, passive registry core had its channel closed as soon as it
   * opened). A session of its own, so that nothing else that toggles the
   * registry's activity (a phone's sync) turns this off; closed by stop(),
   * since the ledger may outlive this service.
   */
  private followRegistry (): void {
    if (!this.ledger.hasRegistry) return
    const registry = this.ledger.registry.core
    if (registry.writable) return
    const follower = registry.session({ active: true })
    follower.download({ start: 0, end: -1 })
    const refresh = (): void => { this.ledger.registry.refresh().catch(() => {}) }
    follower.on('append', refresh)
    follower.on('download', refresh)
    this.unfollowRegistry = () => { follower.close().catch(() => {}) }
  }

  private async open (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.stopped || this.channels.has(id) || !this.gate.admits(id)) return
    // One stream per pair: the smaller peer id opens it (a light peer always opens its own).
    if (!this.light && this.host.peerId.toString() > id) return
    try {
      const stream = await this.host.dialProtocol(peer, REPLICATE_PROTOCOL)
      this.attach(id, stream, true)
    } catch {
      // The connection went away or the peer refused; the next connect tries again.
    }
  }

  private attach (peer: string, stream: Stream, isInitiator: boolean): void {
    // A full node takes channels from full peers and from light peers; a light peer only from full nodes.
    const lightUser = this.light ? undefined : this.gate.lightUserOf(peer)
    if (this.stopped || this.channels.has(peer) || (!this.gate.admits(peer) && lightUser === undefined)) {
      stream.abort(new Error('replication channel refused'))
      return
    }
    const bridge = new StreamBridge(stream)
    const channel: PeerChannel = {
      proto: Hypercore.createProtocolStream(isInitiator, {
        ondiscoverykey: async (discoveryKey: Uint8Array) => { await this.serve(channel, discoveryKey).catch(() => {}) }
      } as Parameters<typeof Hypercore.createProtocolStream>[1]),
      lightUser,
      served: new Map()
    }
    const { proto } = channel
    proto.pipe(bridge).pipe(proto as unknown as NodeJS.WritableStream)
    this.channels.set(peer, channel)
    if (lightUser !== undefined) this.lightUsers.set(lightUser, (this.lightUsers.get(lightUser) ?? 0) + 1)
    const close = (): void => {
      if (this.channels.get(peer) !== channel) return
      this.channels.delete(peer)
      if (lightUser !== undefined) {
        const left = (this.lightUsers.get(lightUser) ?? 1) - 1
        if (left > 0) this.lightUsers.set(lightUser, left)
        else this.lightUsers.delete(lightUser)
      }
      bridge.destroy()
      for (const { core } of channel.served.values()) core.close().catch(() => {})
      channel.served.clear()
    }
    proto.on('error', close)
    proto.on('close', close)
    bridge.on('error', () => { proto.destroy() })
    bridge.on('close', () => { proto.destroy() })

    // Light peers need the registry too: it is what they check every author against.
    if (this.ledger.hasRegistry) this.ledger.registry.core.replicate(proto)
    // What this node fetches is nobody's business but full peers' (a light peer learns of no other chain).
    if (lightUser === undefined) for (const core of this.fetching.keys()) core.replicate(proto)
    for (const listener of this.channelListeners) listener(peer)
  }

  /** A peer asked for a core we have not attached: serve it if it is stored here and the peer may have it. */
  private async serve (channel: PeerChannel, discoveryKey: Uint8Array): Promise<void> {
    if (this.stopped || this.light) return
    const id = bytesToHex(discoveryKey)
    if (channel.served.has(id)) return
    // Null for a core not stored here, and for the node's local cores (catalog, audit log…), whoever asks.
    const key = await this.ledger.servableKey(discoveryKey)
    if (key === null || !this.authorize(channel, key)) return
    while (channel.served.size >= this.maxServedPerPeer) this.closeServed(channel, channel.served.keys().next().value!)
    const core = this.ledger.coreSession(key)
    const served: ServedCore = { core, lastUsed: Date.now() }
    channel.served.set(id, served)
    core.on('upload', () => {
      served.lastUsed = Date.now()
      // Keep the map in least-recently-used order: move this core to the end.
      if (channel.served.delete(id)) channel.served.set(id, served)
    })
    await core.ready()
    if (channel.served.get(id) === served && !this.stopped) core.replicate(channel.proto)
  }

  /** Full peers may fetch any core this node holds; a light peer only its own user's chain. */
  private authorize (channel: PeerChannel, key: Uint8Array): boolean {
    if (channel.lightUser === undefined) return true
    return this.ledger.userOfChain(key) === channel.lightUser
  }

  private closeServed (channel: PeerChannel, id: string): void {
    const served = channel.served.get(id)
    if (served === undefined) return
    channel.served.delete(id)
    served.core.close().catch(() => {})
  }

  private closeIdleServed (): void {
    const before = Date.now() - this.servedIdleMs
    for (const channel of this.channels.values()) {
      for (const [id, served] of channel.served) {
        if (served.lastUsed <= before) this.closeServed(channel, id)
      }
    }
  }

  /** Closes channels of peers the registry no longer admits (and of light peers whose chain is no longer here). */
  revoke (): void {
    for (const [peer, channel] of this.channels) {
      const still = channel.lightUser === undefined ? this.gate.admits(peer) : this.gate.lightUserOf(peer) === channel.lightUser
      if (!still) channel.proto.destroy()
    }
  }

  /** Whether a light peer of `user` has a channel open here. */
  hasLightPeerOf (user: UserId): boolean { return this.lightUsers.has(user) }

  /**
   * Closes the channels of `user`'s light peers whose identity is not `sign`,
   * the user's signing key in force (a rekey retired theirs); returns their
   * peer ids, for their connections to be closed too.
   */
  revokeRetired (user: UserId, sign: Uint8Array): string[] {
    const retired: string[] = []
    for (const [peer, channel] of this.channels) {
      if (channel.lightUser !== user) continue
      const key = publicKeyOf(peer)
      if (key !== undefined && equal(key, sign)) continue
      channel.proto.destroy()
      retired.push(peer)
    }
    return retired
  }

  /**
   * Fetches a user's chain from connected peers up to `length` blocks (or
   * whatever a peer has, if omitted), then checks every new entry. Becomes a
   * replica if this node held no copy.
   */
  async fetchChain (user: UserId, key: Uint8Array, opts: FetchOptions & { length?: number } = {}): Promise<{ chain: UserChain, ingest: IngestResult }> {
    this.assertCanFetch()
    const chain = this.ledger.hasChain(user) ? await this.ledger.chain(user) : await this.ledger.replicaOf(user, key)
    if (bytesToHex(chain.key) !== bytesToHex(key)) {
      throw new NetError('INVALID_FIELD', `user ${user}'s chain here has another key than the one asked for`, { field: 'key' })
    }
    chain.hold()
    // A long fetch checks its blocks on the ledger's verification workers: started at the first one (not with every node:
    // most fetches are a few blocks, and a worker costs seconds of CPU to start), and checked here until they are up.
    if (!this.light && (opts.length ?? Infinity) - chain.verifiedLength >= WARM_WORKERS_AT) this.ledger.warmVerifyWorkers()
    this.startFetching(chain)
    // Checked as it arrives: range k's signatures are verified (on the ledger's workers) while range k+1 transfers.
    const following = chain.ingestAsArriving()
    try {
      await this.bounded(this.download(chain, opts.length), opts, `fetching chain ${bytesToHex(key).slice(0, 12)}…`)
      const early = await following()
      // UserChain.ingest runs one at a time per chain by itself.
      const rest = await chain.ingest()
      return { chain, ingest: { added: early + rest.added, problem: rest.problem } }
    } catch (err) {
      // Stopped or timed out: what did arrive is checked now, not left stored and unchecked until the chain is next opened.
      await following().catch(() => 0)
      await chain.ingest().catch(() => {})
      throw err
    } finally {
      this.stopFetching(chain)
      chain.release()
    }
  }

  /**
   * Fetches block 0 of the chain with this key from connected peers, without
   * keeping a copy (the core session is closed again): the decoded entry,
   * which the caller checks (a genesis names the user, see ChainRules).
   * Throws NO_PEER, TIMEOUT, STOPPED, or core's decode errors.
   */
  async fetchGenesis (key: Uint8Array, opts: FetchOptions = {}): Promise<Entry> {
    return await this.withSession(key, opts, `fetching the genesis of chain ${bytesToHex(key).slice(0, 12)}…`, async (core) => {
      if (core.length === 0) await core.update({ wait: true })
      const block = await core.get(0)
      if (block === null) throw new NetError('NO_PEER', 'no peer served the genesis')
      return decodeEntry(new Uint8Array(block))
    })
  }

  /**
   * Fetches a continuation core of a chain held here (its key alone) up to
   * its migrate: the manifest, then blocks 0..N (N = the manifest's prologue
   * length) but those in `skip` (positions erased here: no peer serves
   * them); blocks below N the chain held here has are copied, not fetched. The session is closed again; the ledger then follows it
   * (`followContinuation`). Throws NO_PEER, TIMEOUT, STOPPED, INVALID_FIELD
   * (field `key`: a core without a prologue continues nothing).
   */
  async fetchContinuation (key: Uint8Array, skip: ReadonlySet<number> = new Set(), opts: FetchOptions = {}): Promise<void> {
    await this.withSession(key, opts, `fetching continuation ${bytesToHex(key).slice(0, 12)}…`, async (core) => {
      while (core.manifest === null || core.length === 0) await core.update({ wait: true })
      const N = core.manifest.prologue?.length
      if (N === undefined) throw new NetError('INVALID_FIELD', 'that core is no continuation (its manifest has no prologue)', { field: 'key' })
      // The migrate first: it names the core continued, whose blocks below N are then copied from here, not fetched.
      await core.get(N)
      await this.prefill(core).catch(() => false)
      for (let seq = 0; seq <= N; seq++) if (!skip.has(seq)) await core.get(seq)
    })
  }

  /**
   * The start of a core not held here as a user's chain: its block 0 and its
   * layout. A continuation core's genesis is signed for its first segment's
   * key, which only its migrate (the block at the manifest prologue's length)
   * names, so that block is fetched too. Throws NO_PEER or a timeout; CoreError
   * when block 0 is no entry; the ledger's INVALID_FIELD when the block at the
   * prologue is no migrate that fits the core.
   */
  async fetchStart (key: Uint8Array, opts: FetchOptions = {}): Promise<{ genesis: Entry, layout: ChainLayout, migrate: Entry | undefined }> {
    return await this.withSession(key, opts, `fetching the start of chain ${bytesToHex(key).slice(0, 12)}…`, async (core) => {
      if (core.length === 0) await core.update({ wait: true })
      const block = await core.get(0)
      if (block === null) throw new NetError('NO_PEER', 'no peer served the genesis')
      const genesis = decodeEntry(new Uint8Array(block))
      const prologue = core.manifest?.prologue
      if (prologue == null) return { genesis, layout: await readLayout(core), migrate: undefined }
      if (core.length <= prologue.length) await core.update({ wait: true })
      const migrate = await core.get(prologue.length)
      const layout = await readLayout(core) // checks that the block is a migrate that fits the core
      return { genesis, layout, migrate: decodeEntry(new Uint8Array(migrate!)) }
    })
  }

  /** Copies a continuation's blocks below its prologue from the chain held here that it continues (Ledger.prefillContinuation). */
  private async prefill (core: Hypercore): Promise<boolean> {
    const from = (await readLayout(core)).segments.at(-2)
    const user = from === undefined ? undefined : this.ledger.userOfChain(from.key)
    return user !== undefined && await this.ledger.prefillContinuation(user, core.key!)
  }

  /** Fetches blocks [0, end) of a core not served as a chain yet (a continuation, before the ledger follows it), but those erased. */
  async fetchBlocks (key: Uint8Array, end: number, opts: FetchOptions = {}): Promise<void> {
    await this.withSession(key, opts, `fetching chain ${bytesToHex(key).slice(0, 12)}… to ${end}`, async (core) => {
      if (core.length < end) await core.update({ wait: true })
      await downloadUnerased(core, 0, end)
    })
  }

  /**
   * Runs `fetch` on a session of the core with this key that fetches from
   * every full peer, bounded by `opts` (timeout, signal) and named `label`
   * in its errors; the session is closed again after.
   */
  private async withSession<T> (key: Uint8Array, opts: FetchOptions, label: string, fetch: (core: Hypercore) => Promise<T>): Promise<T> {
    this.assertCanFetch()
    const core = this.ledger.coreSession(key)
    await core.ready()
    this.startFetching(core)
    try {
      return await this.bounded(fetch(core), opts, label)
    } finally {
      this.stopFetching(core)
      await core.close().catch(() => {})
    }
  }

  /**
   * Marks a session as fetching: attached to every full peer's channel, and
   * active while any fetch uses it. Active matters: Hypercore closes a
   * core's channel when neither side is downloading, and attaching the
   * same stream again does not reopen it — so a replica whose channel had
   * idled out never fetched that chain again. Becoming active reopens the
   * channel on every attached stream and lets Hypercore ask peers for the
   * newer length.
   */
  private startFetching (core: Fetched): void {
    const uses = this.fetching.get(core) ?? 0
    this.fetching.set(core, uses + 1)
    if (uses === 0) core.setActive(true)
    for (const proto of this.fullPeerStreams()) core.replicate(proto)
  }

  private stopFetching (core: Fetched): void {
    const uses = (this.fetching.get(core) ?? 1) - 1
    if (uses > 0) {
      this.fetching.set(core, uses)
      return
    }
    this.fetching.delete(core)
    core.setActive(false)
  }

  /** Channels to full peers: the only ones this node fetches over. */
  private * fullPeerStreams (): Generator<ProtocolStream> {
    for (const channel of this.channels.values()) if (channel.lightUser === undefined) yield channel.proto
  }

  private assertCanFetch (): void {
    if (this.stopped) throw new NetError('STOPPED', 'replication stopped')
    if (this.fullPeerStreams().next().done === true) throw new NetError('NO_PEER', 'no admitted peer is connected')
  }

  /** `work` within the fetch's time limit, its caller's signal, and this service's life. */
  private async bounded<T> (work: Promise<T>, opts: FetchOptions, what: string): Promise<T> {
    const signal = opts.signal === undefined ? this.controller.signal : AbortSignal.any([opts.signal, this.controller.signal])
    return await withTimeout(work, opts.timeoutMs ?? 10_000, what, signal)
  }

  /**
   * Brings the blocks after the chain's verified length up to `length` (or
   * the length a peer has). Blocks before the verified length are never
   * asked for again: an erasure has cleared some of them here, and a peer
   * that has not cleared its copy yet would send the erased data back.
   */
  private async download (chain: UserChain, length: number | undefined): Promise<void> {
    if (length === undefined) await chain.update()
    await chain.reachLength(length ?? 0)
    const start = chain.verifiedLength
    const end = length ?? chain.length
    if (end > start) await chain.download(start, end)
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.sweeper)
    this.controller.abort(new NetError('STOPPED', 'replication stopped'))
    this.channelListeners.clear()
    this.host.removeEventListener('peer:connect', this.onConnect)
    this.unwatchKeys?.()
    this.unwatchKeys = undefined
    this.unfollowRegistry?.()
    this.unfollowRegistry = undefined
    for (const channel of this.channels.values()) channel.proto.destroy()
    this.channels.clear()
  }
}

/** What a fetch runs on: a core session (a genesis fetch) or a chain held here. */
interface Fetched {
  setActive (active: boolean): void
  replicate (stream: ProtocolStream): unknown
}

export interface FetchOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number
  /** Ends the wait with STOPPED (the blocks already received stay). */
  readonly signal?: AbortSignal
}
