/**
 * The user's chain between this device and the nodes; PhoneClient's
 * `discoverChain`, `sync` and `reconnect` are this (the client checks its
 * arguments and that it is open, then calls here).
 *
 *   discover()   a device that does not know the chain key (a fresh device
 *                with only the phrase) asks the connected nodes for it
 *                (LightPeer.findChainKey: a node answers the connection's
 *                own user only); the answer is a hint, checked like below
 *   sync()       first time: fetch block 0 and check it is this user's
 *                genesis, signed by this user for that chain key, before the
 *                device records the chain (a wrong key is never recorded);
 *                without a key, discover first; then fetch the chain,
 *                re-verifying every block and author signature
 *                (UserChain.ingest); then send the outbox, and fetch again
 *                up to what was sent. With a quorum above 0 (this device's
 *                own, else a majority of the registry's active regulators)
 *                the light peer first gets the highest head that many
 *                regulators cosigned, and the chain must hold it: NO_QUORUM
 *                otherwise, before anything of the chain is fetched or
 *                recorded. The device then trusts (shows) its chain up to
 *                the witnessed head's length only (`trustedLength`). A
 *                device that holds its chain asks the nodes which chain is
 *                the user's: a continuation named there (the chain moved,
 *                whoever moved it) is fetched to its migrate, verified whole
 *                and followed (`follow`) before the sync; one that does
 *                not check out is passed over
 *   reachCustodian()  before sending: dial the chain's custodian, by the
 *                addresses used before, then by the registry's
 */
import { bytesToHex, equal, userIdFromKey, verifyEntrySignature, type CryptoProvider, type Entry, type UserKeys } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { NetError, majorityQuorum, type LightPeer, type SyncResult } from '@healthchain/net'
import { peerOf } from './argument-checks.js'
import type { DeviceState } from './device.js'
import { ClientError } from './errors.js'
import { discoveryError, fetchError } from './fetch-errors.js'
import type { PhoneIdentity } from './identity.js'
import type { DiscoveredChain, SyncReport } from './phone-types.js'
import type { FlushResult } from './sender.js'

export interface ChainSyncComponents {
  readonly peer: LightPeer
  /** Dials under the user's key in force (identity.ts). */
  readonly identity: PhoneIdentity
  readonly ledger: Ledger
  readonly device: DeviceState
  readonly keys: UserKeys
  readonly crypto: CryptoProvider
  /** Sends the outbox (the Sender's flush). */
  readonly flush: () => Promise<FlushResult>
}

export class ChainSync {
  private readonly c: ChainSyncComponents

  constructor (components: ChainSyncComponents) {
    this.c = components
  }

  /** Peer ids of the nodes connected now. */
  connectedNodes (): string[] {
    return [...new Set(this.c.peer.host.getConnections().map((c) => c.remotePeer.toString()))]
  }

  /** See PhoneClient.discoverChain. */
  async discover (timeoutMs: number): Promise<DiscoveredChain> {
    if (this.connectedNodes().length === 0) throw new ClientError('NOT_CONNECTED', 'no node is connected')
    let chainKey: Uint8Array
    try {
      ({ chainKey } = await this.c.peer.findChainKey({ timeoutMs }))
    } catch (err) {
      throw discoveryError(err, this.connectedNodes().length > 0)
    }
    const known = this.c.device.chainKey
    if (known !== undefined && !equal(known, chainKey)) {
      throw new ClientError('NOT_OWN_CHAIN', 'a node named another chain than the one this device knows', { field: 'chainKey' })
    }
    await this.assertNoOtherChain(chainKey)
    // The custodian is block 0's (signed by the user), not the node's word.
    const genesis = await this.checkGenesis(chainKey, timeoutMs)
    await this.c.device.setChainKey(chainKey)
    return { chainKey, custodian: genesis.plain.custodian }
  }

  /** See PhoneClient.sync; `chainKey` was checked to be this user's (or is undefined: the device's, or discovered). */
  async sync (chainKey: Uint8Array | undefined, timeoutMs: number): Promise<SyncReport & { readonly verifiedAt: number }> {
    if (this.connectedNodes().length === 0) throw new ClientError('NOT_CONNECTED', 'no node is connected')
    let key = chainKey ?? this.c.device.chainKey
    if (key === undefined) {
      // A fresh device with only the phrase: the nodes name the chain, block 0 proves it (checked there).
      key = (await this.discover(timeoutMs)).chainKey
    } else if (!this.c.ledger.hasChain(this.c.keys.userId)) {
      await this.checkGenesis(key, timeoutMs)
    } else if (chainKey === undefined) {
      key = await this.followMove(key, timeoutMs)
    }
    let result = await this.fetch(key, timeoutMs)
    await this.c.device.setChainKey(key)
    const flush = await this.c.flush()
    if (flush.sent.length > 0) {
      try {
        // Up to the last position sent: the custodian acknowledged it, so its block is on the way (witnessed or not yet).
        result = await this.fetch(key, timeoutMs, Math.max(...flush.sent.map((s) => s.seq)) + 1)
      } catch {
        // The entries are at the custodian; they show after the next sync.
      }
    }
    const { chain, ingest, quorum, witnessed } = result
    return {
      length: chain.length,
      verifiedLength: chain.verifiedLength,
      trustedLength: await this.trustedLength(),
      problem: ingest.problem,
      quorum,
      witnessed: witnessed === undefined
        ? undefined
        : { length: witnessed.head.length, witnesses: witnessed.cosignatures.map((c) => c.witness).sort() },
      flush,
      verifiedAt: Date.now()
    }
  }

  /** The quorum this device demands now: its own, else a majority of the active regulators of the registry it holds. */
  quorum (): number {
    return this.c.device.quorum ?? (this.c.ledger.hasRegistry ? majorityQuorum(this.c.ledger.registry) : 0)
  }

  /** How much of its chain the device shows: the verified blocks, up to the witnessed head while a quorum is demanded. */
  async trustedLength (): Promise<number> {
    if (!this.c.ledger.hasChain(this.c.keys.userId)) return 0
    const verified = (await this.c.ledger.chain(this.c.keys.userId)).verifiedLength
    return this.quorum() === 0 ? verified : Math.min(verified, this.c.device.witnessed?.length ?? 0)
  }

  /** Dials the nodes this device connected to before, the last used first; those that do not answer are passed over. */
  async reconnect (): Promise<void> {
    // Those that do not answer are passed over; none answering may mean a generation this device has not seen (identity.ts).
    await this.c.identity.connect([...this.c.device.nodes].reverse())
  }

  /** Connects to the chain's custodian if it is not connected: by addresses used before, then by the registry's. */
  async reachCustodian (): Promise<void> {
    const { ledger } = this.c
    if (!ledger.hasChain(this.c.keys.userId)) return
    const custodian = (await ledger.chain(this.c.keys.userId)).user?.custodian
    const record = custodian === undefined ? undefined : ledger.registry.state.institutionAt(custodian)
    const peer = record?.peer
    if (record === undefined || peer === undefined || this.connectedNodes().includes(peer)) return
    const candidates = [
      ...[...this.c.device.nodes].reverse().filter((a) => peerOf(a) === peer),
      ...record.addrs.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${peer}`)
    ]
    // The first address that answers will do (the others name the same peer); if none does, sending reports NOT_CONNECTED.
    await this.c.identity.connect(candidates)
  }

  /**
   * Follows a continuation of the chain this device holds (the chain moved
   * to another custodian): fetched up to its migrate, verified whole by the
   * device's ledger — its migrate must continue the chain held here, signed
   * by this user — and only then the device's chain; queued writes are
   * signed for it from then on. NOT_OWN_CHAIN when it continues another
   * chain or fails a check (nothing changes then), CHAIN_NOT_SERVED,
   * TIMEOUT, NOT_CONNECTED.
   */
  async follow (key: Uint8Array, timeoutMs: number): Promise<void> {
    const user = this.c.keys.userId
    const held = await this.c.ledger.chain(user)
    if (!equal(held.key, key)) {
      try {
        await this.c.peer.replication.fetchContinuation(key, held.erasedPositions, { timeoutMs })
      } catch (err) {
        throw fetchError(err, this.connectedNodes().length > 0, { probe: true })
      }
      let next
      try {
        next = await this.c.ledger.followContinuation(user, key)
      } catch (err) {
        throw new ClientError('NOT_OWN_CHAIN', 'that continuation does not continue this device\'s chain', { field: 'chainKey', cause: err })
      }
      if (next === undefined) throw new ClientError('CHAIN_NOT_SERVED', 'the continuation did not arrive up to its migrate')
    }
    await this.c.device.setChainKey(key)
  }

  /**
   * The key to sync: the one held, or the continuation a connected node
   * names for this user once the device has followed it. A node's answer is
   * a hint: one that does not check out is passed over and the held chain
   * synced as before (a node cannot stop a sync by naming a wrong key).
   */
  private async followMove (held: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    let named: Uint8Array
    try {
      named = (await this.c.peer.findChainKey({ timeoutMs })).chainKey
    } catch {
      return held
    }
    if (equal(named, held)) return held
    try {
      await this.follow(named, timeoutMs)
      return named
    } catch {
      return held
    }
  }

  /** NOT_OWN_CHAIN if this device holds the user's chain under another key (one chain per person). */
  async assertNoOtherChain (chainKey: Uint8Array): Promise<void> {
    if (!this.c.ledger.hasChain(this.c.keys.userId)) return
    const held = (await this.c.ledger.chain(this.c.keys.userId)).key
    if (!equal(held, chainKey)) throw new ClientError('NOT_OWN_CHAIN', 'this device already holds the user\'s chain under another key', { field: 'chainKey' })
  }

  /**
   * Waits until block 0 of `chainKey` arrives and checks it is this user's
   * genesis, signed by this user for that key and position 0, before the
   * device records the chain as its own; returns it.
   */
  private async checkGenesis (chainKey: Uint8Array, timeoutMs: number): Promise<Entry & { type: 'genesis' }> {
    const { keys } = this.c
    let genesis: Entry
    try {
      await this.channelOpen(timeoutMs)
      genesis = await this.c.peer.replication.fetchGenesis(chainKey, { timeoutMs })
    } catch (err) {
      throw fetchError(err, this.connectedNodes().length > 0, { probe: true })
    }
    // Hypercore checked the block against the chain key's signer (the custodian); the user's signature binds it to this
    // user and this chain key, so a chain a node made up, naming this user's public key, is refused too.
    if (genesis.type !== 'genesis' || !equal(genesis.plain.user.sign, keys.sign.publicKey) || userIdFromKey(genesis.plain.user.sign) !== keys.userId) {
      throw new ClientError('NOT_OWN_CHAIN', 'block 0 of that chain names another user', { field: 'chainKey' })
    }
    if (!verifyEntrySignature(genesis, { chainKey, seq: 0 }, keys.sign.publicKey, this.c.crypto)) {
      throw new ClientError('NOT_OWN_CHAIN', 'block 0 of that chain is not signed by this user', { field: 'chainKey' })
    }
    return genesis
  }

  /**
   * The chain from a connected node (after the registry), at least `length`
   * blocks if given, checked against the witnessed head (whose length and
   * root the device then records) unless the quorum is 0.
   */
  private async fetch (chainKey: Uint8Array, timeoutMs: number, length?: number): Promise<SyncResult> {
    let result: SyncResult
    try {
      const quorum = this.c.device.quorum ?? 'majority'
      result = await this.c.peer.sync(chainKey, { timeoutMs, quorum, nodes: this.c.device.nodes, ...(length === undefined ? {} : { length }) })
    } catch (err) {
      throw fetchError(err, this.connectedNodes().length > 0, { probe: false })
    }
    if (result.witnessed !== undefined) await this.c.device.setWitnessed({ length: result.witnessed.head.length, root: bytesToHex(result.witnessed.head.root) })
    return result
  }

  private async channelOpen (timeoutMs: number): Promise<void> {
    if (this.c.peer.replication.peers.length > 0) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new NetError('TIMEOUT', 'no replication channel opened')) }, timeoutMs)
      const off = this.c.peer.replication.onChannel(() => { clearTimeout(timer); off(); resolve() })
    })
  }
}
