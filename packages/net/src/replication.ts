/**
 * DEV DOCS — Hypercore replication over libp2p.
 *
 * One `/healthchain/replicate/1.0.0` stream per pair of admitted peers (the
 * peer with the smaller id opens it), bridged to a Node Duplex
 * (stream-bridge.ts), carrying Hypercore's protocol for many cores.
 *
 * Nothing is announced wholesale: the store is opened with `active: false`.
 * The registry is attached to every peer stream as soon as it opens (it is
 * what membership rests on). A chain is attached to peer streams only when
 * this node fetches it (`fetchChain`), and served when a peer asks for its
 * discovery key — after `authorize(peer, discoveryKey)` says yes (full
 * members may fetch any chain; a refused request simply never pairs).
 *
 * Every block Hypercore accepts has passed its own checks (tree hash, the
 * custodian's signature); the ledger then re-checks every entry
 * (`UserChain.ingest`) before it is folded and served.
 *
 * A chain this node does not hold yet is fetched by key alone
 * (`fetchGenesis`): block 0 names the user, so the node can become a replica
 * (heads.ts does this when a head announces a chain it does not hold).
 * `onChannel` tells when a peer's channel opens (heads-sync starts then, so
 * the heads it learns can be fetched over that channel at once).
 */
import Hypercore from 'hypercore'
import type { PeerId, Stream } from '@libp2p/interface'
import { bytesToHex, decodeEntry, type Entry, type UserId } from '@healthchain/core'
import type { Ledger, UserChain, IngestResult } from '@healthchain/ledger'
import { NetError } from './errors.js'
import type { Host } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import { StreamBridge } from './stream-bridge.js'

export const REPLICATE_PROTOCOL = '/healthchain/replicate/1.0.0'

type ProtocolStream = ReturnType<typeof Hypercore.createProtocolStream>

export interface ReplicationInit {
  readonly host: Host
  readonly ledger: Ledger
  readonly gate: MembershipGate
}

interface PeerChannel {
  readonly proto: ProtocolStream
  /** Core sessions opened to serve this peer; closed with the channel. */
  readonly served: Hypercore[]
}

export class Replication {
  private readonly host: Host
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly channels = new Map<string, PeerChannel>()
  /** Cores this node is fetching: attached to every channel, present and future. */
  private readonly fetching = new Set<Hypercore>()
  /** The ingest under way per chain: concurrent fetches of one chain ingest one after the other. */
  private readonly channelListeners = new Set<(peer: string) => void>()
  /** Aborted by stop(): fetches under way end with STOPPED. */
  private readonly controller = new AbortController()
  private stopped = false
  private readonly onConnect = (event: CustomEvent<PeerId>): void => { void this.open(event.detail) }

  constructor (init: ReplicationInit) {
    this.host = init.host
    this.ledger = init.ledger
    this.gate = init.gate
  }

  async start (): Promise<void> {
    await this.host.handle(REPLICATE_PROTOCOL, (stream, connection) => {
      this.attach(connection.remotePeer.toString(), stream, false)
    })
    this.host.addEventListener('peer:connect', this.onConnect)
    this.followRegistry()
  }

  /** Peers this node has a replication channel with. */
  get peers (): string[] { return [...this.channels.keys()] }

  /** Calls `listener` with the peer id whenever a replication channel opens (either side); returns an unsubscribe. */
  onChannel (listener: (peer: string) => void): () => void {
    this.channelListeners.add(listener)
    return () => { this.channelListeners.delete(listener) }
  }

  private followRegistry (): void {
    if (!this.ledger.hasRegistry) return
    const core = this.ledger.registry.core
    if (core.writable) return
    // Keep downloading the registry as it grows, and apply what arrives.
    core.download({ start: 0, end: -1 })
    const refresh = (): void => { this.ledger.registry.refresh().catch(() => {}) }
    core.on('append', refresh)
    core.on('download', refresh)
  }

  private async open (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.stopped || this.channels.has(id) || !this.gate.admits(id)) return
    // One stream per pair: the smaller peer id opens it.
    if (this.host.peerId.toString() > id) return
    try {
      const stream = await this.host.dialProtocol(peer, REPLICATE_PROTOCOL)
      this.attach(id, stream, true)
    } catch {
      // The connection went away or the peer refused; the next connect tries again.
    }
  }

  private attach (peer: string, stream: Stream, isInitiator: boolean): void {
    if (this.stopped || this.channels.has(peer) || !this.gate.admits(peer)) {
      stream.abort(new Error('replication channel refused'))
      return
    }
    const bridge = new StreamBridge(stream)
    const served: Hypercore[] = []
    const proto: ProtocolStream = Hypercore.createProtocolStream(isInitiator, {
      ondiscoverykey: async (discoveryKey: Uint8Array) => { await this.serve(peer, proto, served, discoveryKey) }
    } as Parameters<typeof Hypercore.createProtocolStream>[1])
    proto.pipe(bridge).pipe(proto as unknown as NodeJS.WritableStream)
    const channel = { proto, served }
    this.channels.set(peer, channel)
    const close = (): void => {
      if (this.channels.get(peer) !== channel) return
      this.channels.delete(peer)
      bridge.destroy()
      for (const core of served) core.close().catch(() => {})
    }
    proto.on('error', close)
    proto.on('close', close)
    bridge.on('error', () => { proto.destroy() })
    bridge.on('close', () => { proto.destroy() })

    if (this.ledger.hasRegistry) this.ledger.registry.core.replicate(proto)
    for (const core of this.fetching) core.replicate(proto)
    for (const listener of this.channelListeners) listener(peer)
  }

  /** A peer asked for a core we have not attached: serve it if it is stored here and the peer may have it. */
  private async serve (peer: string, proto: ProtocolStream, served: Hypercore[], discoveryKey: Uint8Array): Promise<void> {
    if (this.stopped || !this.authorize(peer, discoveryKey)) return
    const auth = await this.ledger.store.getAuth(discoveryKey)
    if (auth === null) return
    const core = this.ledger.store.get({ key: auth.key, active: false })
    await core.ready()
    served.push(core)
    core.replicate(proto)
  }

  /** Full members may fetch any chain this node holds. (Light peers, later, only their own.) */
  private authorize (peer: string, _discoveryKey: Uint8Array): boolean {
    return this.gate.admits(peer)
  }

  /** Closes channels of peers the registry no longer admits. */
  revoke (): void {
    for (const [peer, channel] of this.channels) {
      if (!this.gate.admits(peer)) channel.proto.destroy()
    }
  }

  /**
   * Fetches a user's chain from connected peers up to `length` blocks (or
   * whatever a peer has, if omitted), then checks every new entry. Becomes a
   * replica if this node held no copy.
   */
  async fetchChain (user: UserId, key: Uint8Array, opts: FetchOptions & { length?: number } = {}): Promise<{ chain: UserChain, ingest: IngestResult }> {
    this.assertCanFetch()
    const chain = this.ledger.hasChain(user) ? await this.ledger.chain(user) : await this.ledger.replicaOf(user, key)
    const core = chain.core
    this.fetching.add(core)
    try {
      for (const { proto } of this.channels.values()) core.replicate(proto)
      await this.bounded(this.download(core, opts.length), opts, `fetching chain ${bytesToHex(key).slice(0, 12)}…`)
      // UserChain.ingest runs one at a time per chain by itself.
      return { chain, ingest: await chain.ingest() }
    } finally {
      this.fetching.delete(core)
    }
  }

  /**
   * Fetches block 0 of the chain with this key from connected peers, without
   * keeping a copy (the core session is closed again): the decoded entry,
   * which the caller checks (a genesis names the user, see ChainRules).
   * Throws NO_PEER, TIMEOUT, STOPPED, or core's decode errors.
   */
  async fetchGenesis (key: Uint8Array, opts: FetchOptions = {}): Promise<Entry> {
    this.assertCanFetch()
    const core = this.ledger.store.get({ key, active: false })
    await core.ready()
    this.fetching.add(core)
    try {
      for (const { proto } of this.channels.values()) core.replicate(proto)
      const block = await this.bounded((async () => {
        if (core.length === 0) await core.update({ wait: true })
        return await core.get(0)
      })(), opts, `fetching the genesis of chain ${bytesToHex(key).slice(0, 12)}…`)
      if (block === null) throw new NetError('NO_PEER', 'no peer served the genesis')
      return decodeEntry(new Uint8Array(block))
    } finally {
      this.fetching.delete(core)
      await core.close().catch(() => {})
    }
  }

  private assertCanFetch (): void {
    if (this.stopped) throw new NetError('STOPPED', 'replication stopped')
    if (this.channels.size === 0) throw new NetError('NO_PEER', 'no admitted peer is connected')
  }

  /** `work` within the fetch's time limit, its caller's signal, and this service's life. */
  private async bounded<T> (work: Promise<T>, opts: FetchOptions, what: string): Promise<T> {
    const signal = opts.signal === undefined ? this.controller.signal : AbortSignal.any([opts.signal, this.controller.signal])
    return await withTimeout(work, opts.timeoutMs ?? 10_000, what, signal)
  }

  private async download (core: Hypercore, length: number | undefined): Promise<void> {
    if (length === undefined) await core.update({ wait: true })
    while (core.length < (length ?? 0)) await new Promise<void>((resolve) => core.once('append', () => resolve()))
    const end = length ?? core.length
    if (end > 0) await core.download({ start: 0, end }).done()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.controller.abort(new NetError('STOPPED', 'replication stopped'))
    this.channelListeners.clear()
    this.host.removeEventListener('peer:connect', this.onConnect)
    for (const channel of this.channels.values()) channel.proto.destroy()
    this.channels.clear()
  }
}

export interface FetchOptions {
  /** Default 10 s. */
  readonly timeoutMs?: number
  /** Ends the wait with STOPPED (the blocks already received stay). */
  readonly signal?: AbortSignal
}

async function withTimeout<T> (work: Promise<T>, ms: number, what: string, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new NetError('TIMEOUT', `${what} took longer than ${ms} ms`)), ms)
    onAbort = () => reject(new NetError('STOPPED', `${what} was stopped`, { cause: signal.reason }))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  // The work may still fail after the race is decided: never leave that rejection unhandled.
  work.catch(() => {})
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort!)
  }
}
