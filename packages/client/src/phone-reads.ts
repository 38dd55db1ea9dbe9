/**
 * The read side of PhoneClient (phone-client.ts, which extends this): what
 * the device shows of the user's chain — the timeline and series (trusted
 * entries only: verified, and witnessed while a quorum is demanded; sealed
 * segments opened with the box key of the generation each was sealed to),
 * the outbox's pending and failed writes, the status — and the state both
 * sides share. Nothing here writes to the chain or the network.
 */
import { LOINC_PATTERN, bytesToHex, isRecipient, type CryptoProvider, type UserId, type UserKeys } from '@healthchain/core'
import type { Ledger, PositionedEntry } from '@healthchain/ledger'
import type { LightPeer } from '@healthchain/net'
import type { ChainSync } from './chain-sync.js'
import { custodyOf } from './custody-status.js'
import type { DeviceState } from './device.js'
import { ClientError } from './errors.js'
import type { KeyRing } from './key-ring.js'
import type { FailedItem, Outbox } from './outbox.js'
import type { ClientStatus, FailedWrite, PendingWrite } from './phone-types.js'
import { seriesOf, toTimeline, type SeriesPoint, type TimelineItem, type TimelineQuery } from './timeline.js'
import type { SealedPast } from './user-writes.js'

export interface PhoneParts {
  readonly keys: UserKeys
  readonly ring: KeyRing
  readonly crypto: CryptoProvider
  readonly ledger: Ledger
  readonly device: DeviceState
  readonly outbox: Outbox
  readonly peer: LightPeer
}

export abstract class PhoneReads {
  /** The user's generation-0 keys, derived from the phrase (the user id): they never leave this object. */
  protected readonly keys: UserKeys
  /** Every generation's keys; `ring.keys` signs (the generation in force on the chain). */
  protected readonly ring: KeyRing
  readonly crypto: CryptoProvider
  /** The network side, for what the SDK does not wrap (its identity is the user's key in force). */
  readonly peer: LightPeer
  protected readonly ledger: Ledger
  protected readonly device: DeviceState
  protected readonly outbox: Outbox
  protected abstract readonly chains: ChainSync
  protected lastSync: ClientStatus['lastSync']
  protected closed = false

  protected constructor (parts: PhoneParts) {
    this.keys = parts.keys
    this.ring = parts.ring
    this.crypto = parts.crypto
    this.ledger = parts.ledger
    this.device = parts.device
    this.outbox = parts.outbox
    this.peer = parts.peer
  }

  get userId (): UserId { return this.keys.userId }
  /** The user's public keys: Ed25519 (signing, and this device's libp2p identity) and X25519 (sealed data is wrapped for it). */
  get publicKeys (): { readonly sign: Uint8Array, readonly box: Uint8Array } {
    return { sign: this.keys.sign.publicKey, box: this.keys.box.publicKey }
  }

  get peerId (): string { return this.peer.peerId }
  /** The user's chain key, once known on this device. */
  get chainKey (): Uint8Array | undefined { return this.device.chainKey }

  /** The generation of the user's keys in force on the chain this device verified (0 until a rotation). */
  get generation (): number { return this.ring.current }

  /** The trusted entries of the user's chain (genesis left out unless asked), exams' sealed segments opened on the device. */
  async timeline (query: TimelineQuery = {}): Promise<TimelineItem[]> {
    this.assertOpen()
    const chainKey = this.device.chainKey
    if (chainKey === undefined || !this.ledger.hasChain(this.userId)) return []
    const entries: PositionedEntry[] = await this.peer.read({
      start: query.genesis === true ? 0 : 1, end: await this.chains.trustedLength(), types: query.types, since: query.since, until: query.until
    })
    const chain = await this.ledger.chain(this.userId)
    return toTimeline(entries, this.ring.boxKeys(), (seq) => chain.keyAt(seq), this.crypto)
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
      connectedNodes: this.chains.connectedNodes(),
      localLength: chain?.length ?? 0,
      verifiedLength: chain?.verifiedLength ?? 0,
      trustedLength: await this.chains.trustedLength(),
      quorum: this.chains.quorum(),
      witnessedLength: this.device.witnessed?.length,
      outbox: { pending: this.outbox.pendingCount, failed: this.outbox.failed().length },
      lastSync: this.lastSync,
      custody: await custodyOf(this.ledger, this.userId)
    }
  }

  /** The nodes this device connected to before, the last used first. */
  protected knownNodes (): string[] { return [...this.device.nodes].reverse() }

  protected requireChainKey (): Uint8Array {
    const key = this.device.chainKey
    if (key === undefined) throw new ClientError('NOT_ENROLLED', 'this device does not know the user\'s chain yet: sync with a node connected (it finds the chain), or enrol (buildEnrolment)')
    return key
  }

  /** The institution the registry this device has lists for a node's peer id (to show nodes by name); undefined if none. */
  institutionOfPeer (peerId: string): string | undefined {
    if (!this.ledger.hasRegistry) return undefined
    return this.ledger.registry.state.institutions().find((i) => i.peer === peerId)?.id
  }

  /** The verified exams whose data keys the user holds, for re-wrapping. */
  protected async sealedHistory (): Promise<SealedPast[]> {
    if (!this.ledger.hasChain(this.userId)) return []
    const exams = await this.peer.read({ types: ['exam'], end: await this.chains.trustedLength() })
    const chain = await this.ledger.chain(this.userId)
    const boxes = this.ring.boxKeys()
    return exams.flatMap(({ seq, entry }) => entry.sealed !== undefined && boxes.some((box) => isRecipient(entry.sealed!, box.publicKey))
      ? [{ seq, id: entry.id, sealed: entry.sealed, chainKey: chain.keyAt(seq) }]
      : [])
  }

  protected assertOpen (): void {
    if (this.closed) throw new ClientError('CLOSED', 'the client is closed')
  }
}
