/**
 * DEV DOCS — PhoneClient, what a user's phone runs (DESIGN §2 `user`, §4 light peers).
 *
 *   open(phrase, dir)    keys from the recovery phrase (the same phrase on a new
 *                        device gives the same keys); the device directory
 *                        (device.ts) with a Ledger without an institution; the
 *                        outbox; a LightPeer whose libp2p identity is the user's key
 *   buildEnrolment       the user-signed genesis for the custodian's chain key,
 *                        handed to the custodian (NetworkNode.enrol); the device
 *                        keeps the chain key from then on
 *   connect(address)     dial a node (TCP or WebSockets), then send what is queued
 *   discoverChain()      a device that does not know the chain key (a fresh device
 *                        with only the phrase) asks the connected nodes for it
 *                        (LightPeer.findChainKey: a node answers the connection's
 *                        own user only); the answer is a hint, checked like below
 *   sync()               first time: fetch block 0 and check it is this user's
 *                        genesis, signed by this user for that chain key, before the
 *                        device records the chain (a wrong key is never recorded);
 *                        without a key, discoverChain first; then fetch the chain,
 *                        re-verifying every block and author signature
 *                        (UserChain.ingest); then send the outbox
 *   write*               build the unsigned entry on the device, refuse what a user
 *                        may not write, queue it durably, try to send it (sender.ts)
 *   timeline()           the verified entries, sealed segments opened on the device
 *
 * The phone reads and writes its own chain only: every call is about the
 * user's chain, the nodes serve it nothing else (membership-gate.ts,
 * replication.ts) and refuse appends to any other chain.
 */
import {
  ERASABLE_TYPES, LOINC_PATTERN, buildErasure, buildGenesis, buildGrant, buildRevoke, buildUserEntry, bytesToHex, can,
  equal, isRecipient, parseInstitutionId, signEntry, userIdFromKey, userKeysFromPhrase, verifyEntrySignature,
  type CryptoProvider, type Entry, type EntryType, type InstitutionId, type InstitutionRecord, type UnsignedEntry, type UserId, type UserKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, LedgerError, readRecoveryPhrase, writeRecoveryPhrase, type IngestResult, type PositionedEntry, type UserChain } from '@healthchain/ledger'
import { LightPeer, NetError } from '@healthchain/net'
import { DeviceState, phrasePathOf } from './device.js'
import { ClientError, invalidInput } from './errors.js'
import { exercisePlain, type ExerciseInput } from './exercise.js'
import { assertUserWritable } from './guard.js'
import { locationPlains, type GeoPoint } from './location.js'
import { Outbox, type FailedItem } from './outbox.js'
import { Sender, type FlushResult } from './sender.js'
import { seriesOf, toTimeline, type SeriesPoint, type TimelineItem, type TimelineQuery } from './timeline.js'
import { toMillis, type TimeInput } from './time.js'

/** Re-wrapped keys one grant entry may carry (core's schema limit); a longer history takes several grants. */
const REWRAP_KEYS_PER_GRANT = 1000

export interface PhoneClientInit {
  /** The device directory (created if missing, owner-only). One user per directory. */
  readonly dir: string
  /** The 24-word recovery phrase. Not written anywhere unless `savePhrase`. */
  readonly phrase: string
  /** The consortium registry's key (from the app's configuration). */
  readonly registryKey: Uint8Array
  /** Peer ids of the nodes this device may fetch the registry from before it has it. */
  readonly bootstrapPeers: readonly string[]
  /** Keep the phrase in `<dir>/keys/recovery-phrase.json`, owner-only (0600), for `openSaved`. Default false. */
  readonly savePhrase?: boolean
  /**
   * The user's chain key, when it is known from elsewhere. Not needed on a
   * new device: the first `sync` asks the connected nodes (`discoverChain`).
   */
  readonly chainKey?: Uint8Array
  /** Default libsodium (sodium-native); core's noble provider gives the same verdicts without native code. */
  readonly crypto?: CryptoProvider
  /** Time limit of a sync (registry and chain). Default 10 s. */
  readonly syncTimeoutMs?: number
  /** Time limit of one entry's send, including the custodian's durable append. Default 10 s. */
  readonly appendTimeoutMs?: number
}

export type WriteState = 'sent' | 'queued' | 'failed'

export interface WrittenEntry {
  /** Entry id, hex: the same on every retry. */
  readonly id: string
  readonly type: EntryType
  /** sent: in the chain at `seq`; queued: kept on the device until a node takes it; failed: refused for good (`remoteCode`). */
  readonly state: WriteState
  readonly seq?: number
  readonly remoteCode?: string
}

export interface WriteResult {
  readonly entries: WrittenEntry[]
  /** The send attempt that followed (its `stopped` says why something is still queued). */
  readonly flush: FlushResult
}

export interface SyncOptions {
  readonly timeoutMs?: number
  /** The chain to sync; must be this user's (default: the one this device knows). */
  readonly chainKey?: Uint8Array
}

/** What `discoverChain` found: the user's chain key and the custodian its block 0 names. */
export interface DiscoveredChain {
  readonly chainKey: Uint8Array
  readonly custodian: InstitutionId
}

export interface SyncReport {
  /** Blocks of the chain on this device. */
  readonly length: number
  /** Of those, checked and folded (only these are shown). */
  readonly verifiedLength: number
  /** The first block that failed verification, if one did (it and what follows are not shown). */
  readonly problem: IngestResult['problem']
  /** The outbox sent after syncing. */
  readonly flush: FlushResult
}

export interface PendingWrite {
  readonly id: string
  readonly type: EntryType
  readonly time: number
  readonly plain: UnsignedEntry['plain']
}

export interface FailedWrite extends PendingWrite {
  /** The custodian's code. */
  readonly code: string
}

export interface ClientStatus {
  readonly userId: UserId
  /** This device's libp2p peer id (derived from the user's key). */
  readonly peerId: string
  readonly chainKey: string | undefined
  /** Peer ids of the nodes connected now. */
  readonly connectedNodes: string[]
  /** Blocks of the user's chain on this device. */
  readonly localLength: number
  /** Of those, verified (block, tree and author signature, role, consent). */
  readonly verifiedLength: number
  readonly outbox: { readonly pending: number, readonly failed: number }
  readonly lastSync: { readonly at: number, readonly verifiedLength: number } | undefined
}

export class PhoneClient {
  /** The user's keys, derived from the phrase: they never leave this object (the peer holds its own copy as its identity). */
  private readonly keys: UserKeys
  readonly crypto: CryptoProvider
  /** The network side, for what the SDK does not wrap (its identity is the user's key). */
  readonly peer: LightPeer
  private readonly ledger: Ledger
  private readonly device: DeviceState
  private readonly outbox: Outbox
  private readonly sender: Sender
  private readonly syncTimeoutMs: number
  private lastSync: ClientStatus['lastSync']
  private closed = false

  private constructor (parts: { keys: UserKeys, crypto: CryptoProvider, ledger: Ledger, device: DeviceState, outbox: Outbox, peer: LightPeer, init: PhoneClientInit }) {
    this.keys = parts.keys
    this.crypto = parts.crypto
    this.ledger = parts.ledger
    this.device = parts.device
    this.outbox = parts.outbox
    this.peer = parts.peer
    this.syncTimeoutMs = parts.init.syncTimeoutMs ?? 10_000
    this.sender = new Sender({
      peer: parts.peer,
      outbox: parts.outbox,
      keys: parts.keys,
      crypto: parts.crypto,
      chainKey: () => this.requireChainKey(),
      reachCustodian: async () => { await this.reachCustodian() }
    }, { appendTimeoutMs: parts.init.appendTimeoutMs })
  }

  /**
   * Opens the device directory for the user of `phrase`. Throws ClientError:
   * INVALID_INPUT (phrase, registryKey), DEVICE_STATE (the directory belongs
   * to another user or registry), DEVICE_LOCKED, DEVICE_MOVED, NOT_OWN_CHAIN
   * (`chainKey` differs from the chain this device holds).
   */
  static async open (init: PhoneClientInit): Promise<PhoneClient> {
    const crypto = init.crypto ?? sodiumProvider
    let keys: UserKeys
    try {
      keys = userKeysFromPhrase(init.phrase, crypto)
    } catch (err) {
      // The message is core's, which never repeats the phrase.
      throw new ClientError('INVALID_INPUT', 'phrase: not a valid 24-word recovery phrase', { field: 'phrase', cause: err })
    }
    if (!(init.registryKey instanceof Uint8Array) || init.registryKey.length !== 32) {
      throw new ClientError('INVALID_INPUT', 'registryKey: expected 32 bytes', { field: 'registryKey' })
    }
    const device = await DeviceState.open(init.dir, keys.userId, init.registryKey)
    if (init.savePhrase === true) await writeRecoveryPhrase(device.phrasePath, init.phrase.trim().toLowerCase().split(/\s+/).join(' '))

    const ledger = await openLedger(device.ledgerDir, crypto)
    let outbox: Outbox | undefined
    try {
      if (ledger.hasRegistry && !equal(ledger.registry.key, init.registryKey)) {
        throw new ClientError('DEVICE_STATE', 'this device\'s ledger follows another registry')
      }
      await reconcileChainKey(ledger, device, keys.userId, init.chainKey)
      outbox = await Outbox.open(ledger)
      const peer = await LightPeer.start({ ledger, registryKey: init.registryKey, user: keys.sign, bootstrapPeers: init.bootstrapPeers })
      return new PhoneClient({ keys, crypto, ledger, device, outbox, peer, init })
    } catch (err) {
      await outbox?.close().catch(() => {})
      await ledger.close().catch(() => {})
      throw err
    }
  }

  /** Opens a device whose phrase was kept with `savePhrase`; KEY_FILE (a LedgerError) if it was not, or others can read it. */
  static async openSaved (init: Omit<PhoneClientInit, 'phrase' | 'savePhrase'>): Promise<PhoneClient> {
    const phrase = await readRecoveryPhrase(phrasePathOf(init.dir))
    return await PhoneClient.open({ ...init, phrase })
  }

  get userId (): UserId { return this.keys.userId }
  /** The user's public keys: Ed25519 (signing, and this device's libp2p identity) and X25519 (sealed data is wrapped for it). */
  get publicKeys (): { readonly sign: Uint8Array, readonly box: Uint8Array } {
    return { sign: this.keys.sign.publicKey, box: this.keys.box.publicKey }
  }
  get peerId (): string { return this.peer.peerId }
  /** The user's chain key, once known on this device. */
  get chainKey (): Uint8Array | undefined { return this.device.chainKey }

  // ------------------------------------------------------------ enrolment

  /**
   * The genesis to hand to `custodian` for enrolment: signed by the user for
   * the custodian's chain key (`ledger.chainKeyFor(user)` there) and position
   * 0. The device keeps the chain key. NOT_OWN_CHAIN if this device holds
   * the user's chain under another key already (one chain per person).
   */
  async buildEnrolment (custodian: string, chainKey: Uint8Array, opts: { time?: TimeInput } = {}): Promise<Entry> {
    this.assertOpen()
    const id = institutionId(custodian, 'custodian')
    assertKey(chainKey, 'chainKey')
    await this.assertNoOtherChain(chainKey)
    let genesis: Entry
    try {
      const unsigned = buildGenesis(this.keys, id, opts.time === undefined ? {} : { time: toMillis(opts.time, 'time') }, this.crypto)
      genesis = signEntry(unsigned, { chainKey, seq: 0 }, this.keys.sign.secretKey, this.crypto)
    } catch (err) {
      throw invalidInput(err)
    }
    await this.device.setChainKey(chainKey)
    return genesis
  }

  /** Tells a device the user's chain key, learnt elsewhere (`discoverChain` needs none). NOT_OWN_CHAIN if it holds another chain. */
  async useChainKey (chainKey: Uint8Array): Promise<void> {
    this.assertOpen()
    assertKey(chainKey, 'chainKey')
    await this.assertNoOtherChain(chainKey)
    await this.device.setChainKey(chainKey)
  }

  // ------------------------------------------------------------ network

  /**
   * Dials a node by multiaddr (`/ip4/…/tcp/…/p2p/<id>` or `…/ws/p2p/<id>`),
   * remembers it for `reconnect`, and sends what is queued (if the chain
   * was synced before; else call `sync`). NOT_CONNECTED if the dial fails.
   */
  async connect (address: string): Promise<FlushResult> {
    this.assertOpen()
    assertNodeAddress(address, 'address')
    try {
      await this.peer.connect(address)
    } catch (err) {
      throw new ClientError('NOT_CONNECTED', 'the node could not be dialled', { cause: err })
    }
    await this.device.rememberNode(address)
    return await this.sender.flush()
  }

  /**
   * Remembers node addresses for `reconnect` without dialling them (the
   * nodes an app is configured with, or `healthchain phone init --node`);
   * the last given is tried first. INVALID_INPUT for an address without
   * /p2p/<peer id>; nothing is remembered then.
   */
  async rememberNodes (addresses: readonly string[]): Promise<void> {
    this.assertOpen()
    if (!Array.isArray(addresses)) throw new ClientError('INVALID_INPUT', 'addresses: expected a list of multiaddrs', { field: 'addresses' })
    addresses.forEach((address, i) => { assertNodeAddress(address, `addresses.${i}`) })
    for (const address of addresses) await this.device.rememberNode(address)
  }

  /** Dials the nodes this device connected to before (after an app restart or a network change), then sends what is queued. */
  async reconnect (): Promise<FlushResult> {
    this.assertOpen()
    const connected = new Set(this.connectedNodes())
    for (const address of [...this.device.nodes].reverse()) {
      if (connected.has(peerOf(address))) continue
      try {
        await this.peer.connect(address)
        connected.add(peerOf(address))
      } catch {
        // That node is down or unreachable from here; the others may do.
      }
    }
    return await this.sender.flush()
  }

  /**
   * Finds the user's chain on a device that has only the recovery phrase:
   * asks the connected nodes (`LightPeer.findChainKey`; a node answers only
   * about the user at the other end of the connection, from its libp2p
   * identity), then fetches block 0 of the chain named and checks it is
   * this user's genesis, signed by this user for that key — a node's word
   * alone is never recorded. Records the key and returns it with the
   * custodian block 0 names. Throws ClientError: NOT_CONNECTED, NOT_ENROLLED
   * (every node refused: none holds a chain of this user), NOT_OWN_CHAIN
   * (block 0 is not this user's, or this device holds another chain),
   * CHAIN_NOT_SERVED, TIMEOUT, NETWORK.
   */
  async discoverChain (opts: { timeoutMs?: number } = {}): Promise<DiscoveredChain> {
    this.assertOpen()
    const timeoutMs = opts.timeoutMs ?? this.syncTimeoutMs
    if (this.connectedNodes().length === 0) throw new ClientError('NOT_CONNECTED', 'no node is connected')
    let chainKey: Uint8Array
    try {
      ({ chainKey } = await this.peer.findChainKey({ timeoutMs }))
    } catch (err) {
      throw discoveryError(err, this.connectedNodes().length > 0)
    }
    const known = this.device.chainKey
    if (known !== undefined && !equal(known, chainKey)) {
      throw new ClientError('NOT_OWN_CHAIN', 'a node named another chain than the one this device knows', { field: 'chainKey' })
    }
    await this.assertNoOtherChain(chainKey)
    // The custodian is block 0's (signed by the user), not the node's word.
    const genesis = await this.checkGenesis(chainKey, timeoutMs)
    await this.device.setChainKey(chainKey)
    return { chainKey, custodian: genesis.plain.custodian }
  }

  /**
   * Brings this device's copy of the user's chain up to a connected node's,
   * verifying every new block, then sends the outbox (and fetches again if
   * something was sent, so the timeline shows it). A device that does not
   * know the chain key finds it first (`discoverChain`). Throws ClientError:
   * NOT_CONNECTED, NOT_ENROLLED (no connected node holds a chain of this
   * user), NOT_OWN_CHAIN (the key is another chain's, or block 0 is not this
   * user's), CHAIN_NOT_SERVED, TIMEOUT, NETWORK.
   */
  async sync (opts: SyncOptions = {}): Promise<SyncReport> {
    this.assertOpen()
    const known = this.device.chainKey
    if (opts.chainKey !== undefined) {
      assertKey(opts.chainKey, 'chainKey')
      if (known !== undefined && !equal(known, opts.chainKey)) {
        // Refused here, before anything is asked of a node: a phone fetches its own chain only.
        throw new ClientError('NOT_OWN_CHAIN', 'that chain is not this user\'s', { field: 'chainKey' })
      }
    }
    const timeoutMs = opts.timeoutMs ?? this.syncTimeoutMs
    if (this.connectedNodes().length === 0) throw new ClientError('NOT_CONNECTED', 'no node is connected')
    let chainKey = opts.chainKey ?? known
    if (chainKey === undefined) {
      // A fresh device with only the phrase: the nodes name the chain, block 0 proves it (checked there).
      chainKey = (await this.discoverChain({ timeoutMs })).chainKey
    } else if (!this.ledger.hasChain(this.userId)) {
      await this.checkGenesis(chainKey, timeoutMs)
    }
    let { chain, ingest } = await this.fetch(chainKey, timeoutMs)
    await this.device.setChainKey(chainKey)
    const flush = await this.sender.flush()
    if (flush.sent.length > 0) {
      try {
        // Up to the last position sent: the custodian acknowledged it, so its block is on the way.
        ({ chain, ingest } = await this.fetch(chainKey, timeoutMs, Math.max(...flush.sent.map((s) => s.seq)) + 1))
      } catch {
        // The entries are at the custodian; they show after the next sync.
      }
    }
    this.lastSync = { at: Date.now(), verifiedLength: chain.verifiedLength }
    return { length: chain.length, verifiedLength: chain.verifiedLength, problem: ingest.problem, flush }
  }

  /** Sends what is queued, in order. Never throws: `stopped` says why something is still queued. */
  async flush (): Promise<FlushResult> {
    this.assertOpen()
    return await this.sender.flush()
  }

  // ------------------------------------------------------------ reading

  /** The verified entries of the user's chain (genesis left out unless asked), exams' sealed segments opened on the device. */
  async timeline (query: TimelineQuery = {}): Promise<TimelineItem[]> {
    this.assertOpen()
    const chainKey = this.device.chainKey
    if (chainKey === undefined || !this.ledger.hasChain(this.userId)) return []
    const entries: PositionedEntry[] = await this.peer.read({
      start: query.genesis === true ? 0 : 1, types: query.types, since: query.since, until: query.until
    })
    return toTimeline(entries, this.keys.box, chainKey, this.crypto)
  }

  /** One measurement (a LOINC code) over time: exams' plain and sealed observations and exercise entries. */
  async series (code: string): Promise<SeriesPoint[]> {
    if (typeof code !== 'string' || !LOINC_PATTERN.test(code)) throw new ClientError('INVALID_INPUT', 'code: expected a LOINC code such as 8867-4', { field: 'code' })
    return seriesOf(await this.timeline({ types: ['exam', 'exercise'] }), code)
  }

  /** Writes kept on the device, not yet acknowledged by the custodian, oldest first. */
  pending (): PendingWrite[] {
    return this.outbox.pending().map(({ id, entry }) => ({ id, type: entry.type, time: entry.time, plain: entry.plain }))
  }

  /** Writes the custodian refused for good, until dismissed. */
  failedWrites (): FailedWrite[] {
    return this.outbox.failed().map(({ id, entry, code }: FailedItem) => ({ id, type: entry.type, time: entry.time, plain: entry.plain, code }))
  }

  async dismissFailed (): Promise<void> {
    this.assertOpen()
    await this.outbox.dismissFailed()
  }

  async status (): Promise<ClientStatus> {
    this.assertOpen()
    const chain = this.ledger.hasChain(this.userId) ? await this.ledger.chain(this.userId) : undefined
    const key = this.device.chainKey
    return {
      userId: this.userId,
      peerId: this.peerId,
      chainKey: key === undefined ? undefined : bytesToHex(key),
      connectedNodes: this.connectedNodes(),
      localLength: chain?.length ?? 0,
      verifiedLength: chain?.verifiedLength ?? 0,
      outbox: { pending: this.outbox.pendingCount, failed: this.outbox.failed().length },
      lastSync: this.lastSync
    }
  }

  // ------------------------------------------------------------ writing

  /** An exercise entry (steps, distance, active energy, heart rate over a period), signed on the device. */
  async writeExercise (input: ExerciseInput): Promise<WriteResult> {
    return await this.writeExercises([input])
  }

  /** Several exercise entries at once (e.g. a day imported from CSV), queued together, sent in order. */
  async writeExercises (inputs: readonly ExerciseInput[]): Promise<WriteResult> {
    if (!Array.isArray(inputs) || inputs.length === 0) throw new ClientError('INVALID_INPUT', 'inputs: at least one period is required', { field: 'inputs' })
    return await this.write(inputs.map((input) => this.build(() => buildUserEntry('exercise', exercisePlain(input), {}, this.crypto))))
  }

  /** GPS points, as one location entry per LOCATION_POINTS_PER_ENTRY points in time order. */
  async writeLocation (points: readonly GeoPoint[]): Promise<WriteResult> {
    return await this.write(locationPlains(points).map((plain) => this.build(() => buildUserEntry('location', plain, {}, this.crypto))))
  }

  /**
   * An entry built elsewhere (e.g. with core's buildUserEntry), unsigned.
   * Refused on the device, before anything is queued or sent: any type but
   * exercise, location, consent and erasure (ROLE_FORBIDDEN), any sealed
   * segment (SEALED_FORBIDDEN), an author other than `user` (ROLE_FORBIDDEN).
   */
  async writeEntry (entry: unknown): Promise<WriteResult> {
    return await this.write([assertUserWritable(entry)])
  }

  /**
   * Grants `examiner` access to sealed data (until `until`, exclusive, if
   * given), re-wrapping the data keys of every exam this device has verified
   * so it can read the history: sync first. A long history takes several
   * grant entries. UNKNOWN_EXAMINER / NOT_AN_EXAMINER from the registry.
   */
  async grant (examiner: string, opts: { until?: TimeInput } = {}): Promise<WriteResult> {
    this.assertOpen()
    const chainKey = this.requireChainKey()
    const record = this.examiner(examiner, { active: true })
    let until: number | undefined
    if (opts.until !== undefined) {
      until = toMillis(opts.until, 'until')
      if (until <= Date.now()) throw new ClientError('INVALID_INPUT', 'until: must be in the future', { field: 'until' })
    }
    const history = await this.sealedHistory()
    const chunks: Array<typeof history> = []
    for (let i = 0; i < history.length; i += REWRAP_KEYS_PER_GRANT) chunks.push(history.slice(i, i + REWRAP_KEYS_PER_GRANT))
    if (chunks.length === 0) chunks.push([])
    return await this.write(chunks.map((chunk) => this.build(() => buildGrant({
      examiner: record.id, examinerBox: record.box, ...(until === undefined ? {} : { until }), history: chunk, chainKey, userBox: this.keys.box
    }, this.crypto))))
  }

  /** Revokes `examiner`'s access: later exams are no longer sealed for it (what it could read stays readable to it). */
  async revoke (examiner: string): Promise<WriteResult> {
    this.assertOpen()
    this.requireChainKey()
    const record = this.examiner(examiner, { active: false })
    return await this.write([this.build(() => buildRevoke(record.id, {}, this.crypto))])
  }

  /**
   * Asks every node to erase the data of the entries at `seqs` (exam,
   * exercise, location). Positions this device has verified are checked
   * here (NOT_ERASABLE); the custodian checks all of them again.
   */
  async erase (seqs: readonly number[]): Promise<WriteResult> {
    this.assertOpen()
    this.requireChainKey()
    if (!Array.isArray(seqs) || seqs.length === 0 || seqs.some((s) => !Number.isSafeInteger(s) || s < 1)) {
      throw new ClientError('INVALID_INPUT', 'seqs: expected positions (1 or more) of entries to erase', { field: 'seqs' })
    }
    if (this.ledger.hasChain(this.userId)) {
      const chain = await this.ledger.chain(this.userId)
      for (const seq of seqs) {
        if (seq >= chain.verifiedLength) continue
        const entry = await chain.get(seq)
        // null: erased already, which an erasure may name again.
        if (entry !== null && !ERASABLE_TYPES.includes(entry.type)) {
          throw new ClientError('NOT_ERASABLE', `position ${seq} is a ${entry.type} entry, which cannot be erased`, { field: 'seqs' })
        }
      }
    }
    return await this.write([this.build(() => buildErasure(seqs, {}, this.crypto))])
  }

  /** Stops the network side and closes the device's store; queued writes stay for the next open. A second call does nothing. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.peer.stop()
    await this.sender.idle()
    await this.outbox.close()
    await this.ledger.close()
  }

  // ------------------------------------------------------------ internals

  private async write (entries: UnsignedEntry[]): Promise<WriteResult> {
    this.assertOpen()
    this.requireChainKey()
    const items = await this.outbox.enqueue(entries)
    const flush = await this.sender.flush()
    return {
      entries: items.map(({ id, entry }): WrittenEntry => {
        const outcome = this.sender.outcomeOf(id)
        if (outcome === undefined) return { id, type: entry.type, state: 'queued' }
        if (outcome.state === 'sent') return { id, type: entry.type, state: 'sent', seq: outcome.seq }
        return { id, type: entry.type, state: 'failed', remoteCode: outcome.remoteCode }
      }),
      flush
    }
  }

  /** Runs one of core's builders, its refusals as INVALID_INPUT. */
  private build (make: () => UnsignedEntry): UnsignedEntry {
    try {
      return make()
    } catch (err) {
      if (err instanceof ClientError) throw err
      throw invalidInput(err)
    }
  }

  private requireChainKey (): Uint8Array {
    const key = this.device.chainKey
    if (key === undefined) throw new ClientError('NOT_ENROLLED', 'this device does not know the user\'s chain yet: sync with a node connected (it finds the chain), or enrol (buildEnrolment)')
    return key
  }

  private async assertNoOtherChain (chainKey: Uint8Array): Promise<void> {
    if (!this.ledger.hasChain(this.userId)) return
    const held = (await this.ledger.chain(this.userId)).key
    if (!equal(held, chainKey)) throw new ClientError('NOT_OWN_CHAIN', 'this device already holds the user\'s chain under another key', { field: 'chainKey' })
  }

  /** The institution the registry this device has lists for a node's peer id (to show nodes by name); undefined if none. */
  institutionOfPeer (peerId: string): string | undefined {
    if (!this.ledger.hasRegistry) return undefined
    return this.ledger.registry.state.institutions().find((i) => i.peer === peerId)?.id
  }

  /** An examiner from the registry this device has. */
  private examiner (value: string, opts: { active: boolean }): InstitutionRecord {
    const id = institutionId(value, 'examiner')
    const record = this.ledger.hasRegistry ? this.ledger.registry.state.institutionAt(id) : undefined
    if (record === undefined) throw new ClientError('UNKNOWN_EXAMINER', `the registry this device has names no institution ${id} (sync first)`, { field: 'examiner' })
    if (!can(record.role, 'read', 'sealed') || (opts.active && record.status !== 'active')) {
      throw new ClientError('NOT_AN_EXAMINER', `${id} is not an active examiner, so it may not read sealed data`, { field: 'examiner' })
    }
    return record
  }

  /** The verified exams whose data keys the user holds, for re-wrapping. */
  private async sealedHistory (): Promise<Array<{ seq: number, entry: Entry }>> {
    if (!this.ledger.hasChain(this.userId)) return []
    const exams = await this.peer.read({ types: ['exam'] })
    return exams.filter(({ entry }) => entry.sealed !== undefined && isRecipient(entry.sealed, this.keys.box.publicKey))
  }

  /**
   * Waits until block 0 of `chainKey` arrives and checks it is this user's
   * genesis, signed by this user for that key and position 0, before the
   * device records the chain as its own; returns it.
   */
  private async checkGenesis (chainKey: Uint8Array, timeoutMs: number): Promise<Entry & { type: 'genesis' }> {
    let genesis: Entry
    try {
      await this.channelOpen(timeoutMs)
      genesis = await this.peer.replication.fetchGenesis(chainKey, { timeoutMs })
    } catch (err) {
      throw netError(err, this.connectedNodes().length > 0, { probe: true })
    }
    // Hypercore checked the block against the chain key's signer (the custodian); the user's signature binds it to this
    // user and this chain key, so a chain a node made up, naming this user's public key, is refused too.
    if (genesis.type !== 'genesis' || !equal(genesis.plain.user.sign, this.keys.sign.publicKey) || userIdFromKey(genesis.plain.user.sign) !== this.userId) {
      throw new ClientError('NOT_OWN_CHAIN', 'block 0 of that chain names another user', { field: 'chainKey' })
    }
    if (!verifyEntrySignature(genesis, { chainKey, seq: 0 }, this.keys.sign.publicKey, this.crypto)) {
      throw new ClientError('NOT_OWN_CHAIN', 'block 0 of that chain is not signed by this user', { field: 'chainKey' })
    }
    return genesis
  }

  /** The chain from a connected node (after the registry), at least `length` blocks if given. */
  private async fetch (chainKey: Uint8Array, timeoutMs: number, length?: number): Promise<{ chain: UserChain, ingest: IngestResult }> {
    try {
      return await this.peer.sync(chainKey, { timeoutMs, ...(length === undefined ? {} : { length }) })
    } catch (err) {
      throw netError(err, this.connectedNodes().length > 0, { probe: false })
    }
  }

  private async channelOpen (timeoutMs: number): Promise<void> {
    if (this.peer.replication.peers.length > 0) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new NetError('TIMEOUT', 'no replication channel opened')) }, timeoutMs)
      const off = this.peer.replication.onChannel(() => { clearTimeout(timer); off(); resolve() })
    })
  }

  /** Connects to the chain's custodian if it is not connected: by addresses used before, then by the registry's. */
  private async reachCustodian (): Promise<void> {
    if (!this.ledger.hasChain(this.userId)) return
    const custodian = (await this.ledger.chain(this.userId)).user?.custodian
    const record = custodian === undefined ? undefined : this.ledger.registry.state.institutionAt(custodian)
    const peer = record?.peer
    if (record === undefined || peer === undefined || this.connectedNodes().includes(peer)) return
    const candidates = [
      ...[...this.device.nodes].reverse().filter((a) => peerOf(a) === peer),
      ...record.addrs.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${peer}`)
    ]
    for (const address of candidates) {
      try {
        await this.peer.connect(address)
        return
      } catch {
        // Try the next address; if none answers, sending reports NOT_CONNECTED.
      }
    }
  }

  private connectedNodes (): string[] {
    return [...new Set(this.peer.host.getConnections().map((c) => c.remotePeer.toString()))]
  }

  private assertOpen (): void {
    if (this.closed) throw new ClientError('CLOSED', 'the client is closed')
  }
}

async function openLedger (dir: string, crypto: CryptoProvider): Promise<Ledger> {
  try {
    // A phone verifies one chain incrementally: no worker threads.
    return await Ledger.open({ dir, crypto, verifyWorkers: 0 })
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'STORE_LOCKED') throw new ClientError('DEVICE_LOCKED', 'the device directory is open in another process', { cause: err })
    if (err instanceof LedgerError && err.code === 'STORE_MOVED') {
      throw new ClientError('DEVICE_MOVED', 'the device directory was copied from elsewhere: open a new directory with the recovery phrase', { cause: err })
    }
    throw err
  }
}

/**
 * The chain key this device uses: the chain its ledger holds wins (a
 * different `given` key is refused, as by useChainKey); else the given one;
 * else the one device.json kept (also after a crash between the ledger
 * recording the chain and device.json).
 */
async function reconcileChainKey (ledger: Ledger, device: DeviceState, user: UserId, given: Uint8Array | undefined): Promise<void> {
  if (given !== undefined) assertKey(given, 'chainKey')
  const held = ledger.hasChain(user) ? (await ledger.chain(user)).key : undefined
  if (given !== undefined && held !== undefined && !equal(held, given)) {
    throw new ClientError('NOT_OWN_CHAIN', 'this device holds the user\'s chain under another key', { field: 'chainKey' })
  }
  const key = held ?? given ?? device.chainKey
  if (key !== undefined) await device.setChainKey(key)
}

function assertNodeAddress (address: unknown, field: string): asserts address is string {
  if (typeof address !== 'string' || !address.startsWith('/') || !address.includes('/p2p/')) {
    throw new ClientError('INVALID_INPUT', `${field}: expected a multiaddr ending in /p2p/<peer id>`, { field })
  }
}

function assertKey (key: unknown, field: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new ClientError('INVALID_INPUT', `${field}: expected 32 bytes`, { field })
}

function institutionId (value: string, field: string): InstitutionId {
  try {
    return parseInstitutionId(value, field)
  } catch (err) {
    throw invalidInput(err)
  }
}

/**
 * Net's errors from asking the nodes for the chain, as the client's codes.
 * Every node refusing (NOT_ADMITTED, UNKNOWN_CHAIN) means none of them
 * holds a chain of this user: not enrolled, as far as these nodes know.
 */
function discoveryError (err: unknown, connected: boolean): ClientError {
  if (err instanceof NetError) {
    if (err.code === 'NO_PEER' || (!connected && err.code === 'TIMEOUT')) return new ClientError('NOT_CONNECTED', 'no node is connected', { cause: err })
    if (err.code === 'REFUSED' && (err.remoteCode === 'NOT_ADMITTED' || err.remoteCode === 'UNKNOWN_CHAIN')) {
      return new ClientError('NOT_ENROLLED', 'no connected node holds a chain of this user', { remoteCode: err.remoteCode, cause: err })
    }
    if (err.code === 'TIMEOUT') return new ClientError('TIMEOUT', 'no connected node named the chain in time', { cause: err })
    if (err.code === 'STOPPED') return new ClientError('CLOSED', 'the client stopped', { cause: err })
    if (err.code === 'REFUSED') return new ClientError('NETWORK', 'the nodes could not name the chain', { remoteCode: err.remoteCode, cause: err })
  }
  return new ClientError('NETWORK', 'asking the nodes for the chain failed', { cause: err })
}

function peerOf (address: string): string {
  return address.slice(address.lastIndexOf('/p2p/') + 5)
}

/**
 * Net's errors from fetching, as the client's codes. While probing block 0
 * a timeout means nobody serves that chain to this user: nodes never pair a
 * light peer with another user's chain, they just stay silent.
 */
function netError (err: unknown, connected: boolean, opts: { probe: boolean }): ClientError {
  if (err instanceof ClientError) return err
  if (err instanceof NetError) {
    if (!connected && (err.code === 'TIMEOUT' || err.code === 'NO_PEER')) return new ClientError('NOT_CONNECTED', 'the node went away', { cause: err })
    if (err.code === 'TIMEOUT') {
      return opts.probe
        ? new ClientError('CHAIN_NOT_SERVED', 'no connected node served the chain in time (a wrong chain key, or a node that does not hold it)', { cause: err })
        : new ClientError('TIMEOUT', err.message, { cause: err })
    }
    if (err.code === 'NO_PEER') return new ClientError('CHAIN_NOT_SERVED', err.message, { cause: err })
    if (err.code === 'INVALID_FIELD') return new ClientError('NOT_OWN_CHAIN', 'that chain is not the one this device holds', { field: 'chainKey', cause: err })
    if (err.code === 'STOPPED') return new ClientError('CLOSED', 'the client stopped', { cause: err })
  }
  return new ClientError('NETWORK', 'fetching the chain failed', { cause: err })
}
