/**
 * DEV DOCS — PhoneClient, what a user's phone runs: the `user` role of the
 * permission table (its own chain only), as a light peer on the network.
 * This is the reference user side; the CLI's `healthchain user` commands do
 * the same writes over a node's HTTP API with the same builders and the
 * same re-sign loop (user-writes.ts, resign.ts).
 *
 *   open(phrase, dir)    keys from the recovery phrase (the same phrase on a new
 *                        device gives the same keys); the device directory
 *                        (device.ts) with a Ledger without an institution; the
 *                        outbox; a LightPeer whose libp2p identity is the user's key
 *                        in force (identity.ts)
 *   buildEnrolment       the user-signed genesis for the custodian's chain key,
 *                        handed to the custodian (NetworkNode.enrol); the device
 *                        keeps the chain key from then on
 *   connect(address)     dial a node (TCP or WebSockets), then send what is queued
 *   discoverChain()      find the chain key on a device that has only the phrase
 *   sync()               the witnessed head, then the chain fetched and verified up to
 *                        it; send the outbox (chain-sync.ts)
 *   write*               build the unsigned entry on the device (user-writes.ts),
 *                        refuse what a user may not write, queue it durably, try to
 *                        send it (sender.ts over custodian-link.ts)
 *   timeline()           the trusted entries (verified, and witnessed while a quorum is
 *                        demanded), sealed segments opened on the device; with
 *                        series, status and the outbox's lists, the read side
 *                        (phone-reads.ts, which this class extends)
 *   transfer, rotate     custody (transfer.ts, rotation.ts)
 *
 * The phone reads and writes its own chain only: every call is about the
 * user's chain, the nodes serve it nothing else (membership-gate.ts,
 * replication.ts) and refuse appends to any other chain.
 */
import { equal, type Entry, type UnsignedEntry } from '@healthchain/core'
import { readRecoveryPhrase } from '@healthchain/ledger'
import { assertErasable, assertKey, assertNodeAddress, institutionId, peerOf, registeredExaminer } from './argument-checks.js'
import { ChainSync } from './chain-sync.js'
import { sendToCustodian, type CustodianLinkComponents } from './custodian-link.js'
import { openDevice } from './device-open.js'
import { phrasePathOf } from './device.js'
import { ClientError } from './errors.js'
import { exercisePlain, type ExerciseInput } from './exercise.js'
import { assertUserWritable } from './guard.js'
import { PhoneIdentity } from './identity.js'
import { locationPlains, type GeoPoint } from './location.js'
import { PhoneReads, type PhoneParts } from './phone-reads.js'
import type { DiscoveredChain, PhoneClientInit, SyncOptions, SyncReport, WriteResult, WrittenEntry } from './phone-types.js'
import { rotateKeys, type RotationResult } from './rotation.js'
import { Sender, type FlushResult } from './sender.js'
import { toMillis, type TimeInput } from './time.js'
import { transferChain, type TransferResult } from './transfer.js'
import { buildEnrolmentGenesis, buildErasureEntry, buildExerciseEntry, buildGrantEntries, buildLocationEntry, buildRevokeEntry } from './user-writes.js'

export class PhoneClient extends PhoneReads {
  private readonly sender: Sender
  protected readonly chains: ChainSync
  private readonly identity: PhoneIdentity
  private readonly syncTimeoutMs: number
  private readonly link: CustodianLinkComponents

  private constructor (parts: PhoneParts & { init: PhoneClientInit }) {
    super(parts)
    this.syncTimeoutMs = parts.init.syncTimeoutMs ?? 10_000
    this.identity = new PhoneIdentity(parts.peer, parts.ring)
    this.chains = new ChainSync({
      peer: parts.peer,
      identity: this.identity,
      ledger: parts.ledger,
      device: parts.device,
      keys: parts.keys,
      crypto: parts.crypto,
      flush: async () => await this.sender.flush()
    })
    const link = { peer: parts.peer, ledger: parts.ledger, user: parts.keys.userId, closed: () => this.closed }
    this.link = link
    this.sender = new Sender({
      outbox: parts.outbox,
      keys: () => this.ring.keys,
      crypto: parts.crypto,
      chainKey: () => this.requireChainKey(),
      reachCustodian: async () => { await this.chains.reachCustodian() },
      chainLength: async () => (await parts.ledger.chain(parts.keys.userId)).length,
      send: async (entry, slot, opts) => await sendToCustodian(link, entry, slot, opts)
    }, { appendTimeoutMs: parts.init.appendTimeoutMs })
  }

  /**
   * Opens the device directory for the user of `phrase`. Throws ClientError:
   * INVALID_INPUT (phrase, registryKey), DEVICE_STATE (the directory belongs
   * to another user or registry), DEVICE_LOCKED, DEVICE_MOVED, NOT_OWN_CHAIN
   * (`chainKey` differs from the chain this device holds).
   */
  static async open (init: PhoneClientInit): Promise<PhoneClient> {
    return new PhoneClient({ ...await openDevice(init), init })
  }

  /** Opens a device whose phrase was kept with `savePhrase`; KEY_FILE (a LedgerError) if it was not, or others can read it. */
  static async openSaved (init: Omit<PhoneClientInit, 'phrase' | 'savePhrase'>): Promise<PhoneClient> {
    const phrase = await readRecoveryPhrase(phrasePathOf(init.dir))
    return await PhoneClient.open({ ...init, phrase })
  }

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
    await this.chains.assertNoOtherChain(chainKey)
    const genesis = buildEnrolmentGenesis(this.keys, id, chainKey, this.crypto, {
      next: this.ring.keysAt(1), ...(opts.time === undefined ? {} : { time: toMillis(opts.time, 'time') })
    })
    await this.device.setChainKey(chainKey)
    return genesis
  }

  /** Tells a device the user's chain key, learnt elsewhere (`discoverChain` needs none). NOT_OWN_CHAIN if it holds another chain. */
  async useChainKey (chainKey: Uint8Array): Promise<void> {
    this.assertOpen()
    assertKey(chainKey, 'chainKey')
    await this.chains.assertNoOtherChain(chainKey)
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
    // Under the key in force, or a later generation's if this device has not seen the last rotation (identity.ts).
    const { errors } = await this.identity.connect([address])
    if (!this.chains.connectedNodes().includes(peerOf(address))) throw new ClientError('NOT_CONNECTED', 'the node could not be dialled', { cause: errors.get(address) })
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
    await this.chains.reconnect()
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
    return await this.chains.discover(opts.timeoutMs ?? this.syncTimeoutMs)
  }

  /**
   * Brings this device's copy of the user's chain up to a connected node's,
   * verifying every new block, then sends the outbox (and fetches again if
   * something was sent, so the timeline shows it). A device that does not
   * know the chain key finds it first (`discoverChain`). Only a head that
   * the device's quorum of regulators cosigned is trusted (chain-sync.ts).
   * Throws ClientError: NOT_CONNECTED, NOT_ENROLLED (no connected node holds
   * a chain of this user), NOT_OWN_CHAIN (the key is another chain's, or
   * block 0 is not this user's), NO_QUORUM (nothing changes on the device),
   * CHAIN_NOT_SERVED, TIMEOUT, NETWORK.
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
    const { verifiedAt, ...report } = await this.chains.sync(opts.chainKey, opts.timeoutMs ?? this.syncTimeoutMs)
    // A rotation made on another device: sign with the keys the chain has in force from now on.
    this.ring.follow((await this.ledger.chain(this.userId)).user?.generation)
    await this.identity.follow(this.knownNodes())
    this.lastSync = { at: verifiedAt, verifiedLength: report.verifiedLength }
    return report
  }

  /**
   * The quorum this device demands from the next sync on, kept in device.json: a count (0 opts out), or `majority`, the
   * default (more than half of the registry's active regulators). Offline; INVALID_INPUT for anything else.
   */
  async setQuorum (quorum: number | 'majority'): Promise<void> {
    this.assertOpen()
    if (quorum !== 'majority' && !(Number.isSafeInteger(quorum) && quorum >= 0)) {
      throw new ClientError('INVALID_INPUT', 'quorum: expected an integer, 0 or more, or majority', { field: 'quorum' })
    }
    await this.device.setQuorum(quorum === 'majority' ? undefined : quorum)
  }

  /**
   * Moves the user's chain to the examiner `to` (transfer.ts): its node offers the continuation, the device checks the
   * offer against the chain it verified, signs the migrate and follows the new chain. UNKNOWN_EXAMINER, NOT_AN_EXAMINER
   * (another role, or suspended), NOT_CONNECTED, REFUSED (the node's code), NOT_OWN_CHAIN (an offer for another head).
   */
  async transfer (to: string, opts: { timeoutMs?: number } = {}): Promise<TransferResult> {
    this.assertOpen()
    this.requireChainKey()
    return await transferChain({
      peer: this.peer,
      ledger: this.ledger,
      crypto: this.crypto,
      chains: this.chains,
      user: this.keys,
      // The migrate is signed with the key in force: after a rotation the generation-0 key is refused.
      keys: () => this.ring.keys,
      sync: async () => await this.sync()
    }, to, opts)
  }

  /**
   * Rotates the user's keys (rotation.ts): a rekey revealing the next generation's keys, sent to the custodian; the
   * device signs with them once it verified the rekey. NOT_SYNCED while writes are queued, INVALID_INPUT for a chain whose
   * genesis committed to no next key, REFUSED (the custodian's code), NOT_CONNECTED.
   */
  async rotate (): Promise<RotationResult> {
    this.assertOpen()
    return await rotateKeys({
      ledger: this.ledger,
      crypto: this.crypto,
      ring: this.ring,
      user: this.userId,
      chainKey: () => this.requireChainKey(),
      sync: async () => await this.sync(),
      flushPending: async () => (await this.sender.flush()).pending,
      reachCustodian: async () => { await this.chains.reachCustodian() },
      send: async (entry, slot, opts) => await sendToCustodian(this.link, entry, slot, opts),
      useIdentity: async (keys) => {
        await this.identity.switchTo(keys.sign, this.knownNodes())
        await this.chains.reachCustodian()
      }
    })
  }

  /** Sends what is queued, in order. Never throws: `stopped` says why something is still queued. */
  async flush (): Promise<FlushResult> {
    this.assertOpen()
    return await this.sender.flush()
  }

  // ------------------------------------------------------------ writing

  /** An exercise entry (steps, distance, active energy, heart rate over a period), signed on the device. */
  async writeExercise (input: ExerciseInput): Promise<WriteResult> {
    return await this.writeExercises([input])
  }

  /** Several exercise entries at once (e.g. a day imported from CSV), queued together, sent in order. */
  async writeExercises (inputs: readonly ExerciseInput[]): Promise<WriteResult> {
    if (!Array.isArray(inputs) || inputs.length === 0) throw new ClientError('INVALID_INPUT', 'inputs: at least one period is required', { field: 'inputs' })
    return await this.write(inputs.map((input) => buildExerciseEntry(exercisePlain(input), this.crypto)))
  }

  /** GPS points, as one location entry per LOCATION_POINTS_PER_ENTRY points in time order. */
  async writeLocation (points: readonly GeoPoint[]): Promise<WriteResult> {
    return await this.write(locationPlains(points).map((plain) => buildLocationEntry(plain, this.crypto)))
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
    const record = registeredExaminer(this.ledger, examiner, { active: true })
    let until: number | undefined
    if (opts.until !== undefined) {
      until = toMillis(opts.until, 'until')
      if (until <= Date.now()) throw new ClientError('INVALID_INPUT', 'until: must be in the future', { field: 'until' })
    }
    const history = await this.sealedHistory()
    const { entries } = buildGrantEntries({ examiner: record.id, examinerBox: record.box, until, history, chainKey, userBox: this.ring.boxKeys() }, this.crypto)
    return await this.write(entries)
  }

  /** Revokes `examiner`'s access: later exams are no longer sealed for it (what it could read stays readable to it). */
  async revoke (examiner: string): Promise<WriteResult> {
    this.assertOpen()
    this.requireChainKey()
    const record = registeredExaminer(this.ledger, examiner, { active: false })
    return await this.write([buildRevokeEntry(record.id, this.crypto)])
  }

  /**
   * Asks every node to erase the data of the entries at `seqs` (exam,
   * exercise, location). Positions this device has verified are checked
   * here (NOT_ERASABLE); the custodian checks all of them again.
   */
  async erase (seqs: readonly number[]): Promise<WriteResult> {
    this.assertOpen()
    this.requireChainKey()
    await assertErasable(this.ledger, this.userId, seqs)
    return await this.write([buildErasureEntry(seqs, this.crypto)])
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
}
