/**
 * DEV DOCS — moving a user's chain from the phone, `/healthchain/continuation/1.0.0`.
 *
 * The user moves their chain to an examiner by talking to that examiner's
 * node: it offers the continuation (the ledger's offerContinuation), the
 * phone checks and signs the migrate, the node writes the continuation
 * (continueChain). Only about the asker, as for my-chain:
 *
 *   light peer (askOffer / sendMigrate)     node (ContinuationService)
 *   dial, send { op: 'offer' }       ──►    read one frame                    (TOO_LARGE: stream aborted)
 *                                           a light peer of a user U held here?  else NOT_ADMITTED
 *                                           decode the request                else the codec's code
 *                                           U's chain complete and verified?  else fetch it from peers first
 *        { ok, op, key, length, plain } ◄── ledger.offerContinuation(U)       else its code (NOT_CUSTODIAN, MISSING_BLOCK…)
 *   dial, send { op: 'continue', block } ─► decode the entry, ledger.continueChain(U, entry)
 *        { ok, op, key, length }    ◄──    the continuation's key and length  else its code (INVALID_FIELD, ALREADY_ENROLLED…)
 *
 * The node never takes the phone's word for anything: continueChain checks
 * the migrate against its own offer and through the chain rules (the user's
 * signature for (key, N), `to` this node's institution, active). The phone
 * never takes the node's word either: it checks the offer against the chain
 * it holds before signing (packages/client, transfer.ts).
 *
 * The request is read before any answer, a refusal too (see my-chain.ts).
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeEntry, encodeEntry, type Entry, type MigratePlain, type UserId } from '@healthchain/core'
import { LedgerError, type Ledger } from '@healthchain/ledger'
import { NetError } from './errors.js'
import { ProtocolServer } from './protocol-server.js'
import { refusal, refusalOf as refusalOfError } from './refusals.js'
import type { BaseHost } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import type { Replication } from './replication.js'
import { readFrame, writeFrame } from './wire/framing.js'
import {
  CONTINUATION_PROTOCOL, MAX_CONTINUATION_MESSAGE_CHARS, MAX_CONTINUATION_REQUEST_BYTES, MAX_CONTINUATION_RESPONSE_BYTES,
  decodeContinuationRequest, decodeContinuationResponse, encodeContinuationRequest, encodeContinuationResponse,
  type ContinuationRequest, type ContinuationResponse
} from './wire/continuation.js'

/** Server side: reading a request, and writing its answer. */
const DEFAULT_IO_TIMEOUT_MS = 10_000
/** Time a node allows itself to fetch a chain it holds incomplete before offering it. */
const DEFAULT_FETCH_TIMEOUT_MS = 30_000
/** Light side: one exchange. Moving copies the chain, so it is given longer than a lookup. */
export const DEFAULT_CONTINUATION_TIMEOUT_MS = 60_000
const NOT_ADMITTED_MESSAGE = 'only a user\'s own light peer may move its chain'

// ---------------------------------------------------------------- node side

export interface ContinuationServiceComponents {
  readonly host: BaseHost
  readonly ledger: Ledger
  readonly gate: MembershipGate
  readonly replication: Replication
}

export interface ContinuationServiceInit {
  readonly ioTimeoutMs?: number
  readonly fetchTimeoutMs?: number
}

export interface ContinuationStats {
  offered: number
  moved: number
  readonly refused: Map<string, number>
}

/** Serves `/healthchain/continuation/1.0.0`: offers a user's light peer the move of its chain here, and makes it. */
export class ContinuationService {
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly replication: Replication
  private readonly server: ProtocolServer
  private readonly fetchTimeoutMs: number
  readonly stats: ContinuationStats = { offered: 0, moved: 0, refused: new Map() }

  constructor (components: ContinuationServiceComponents, init: ContinuationServiceInit = {}) {
    this.ledger = components.ledger
    this.gate = components.gate
    this.replication = components.replication
    this.fetchTimeoutMs = init.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
    this.server = new ProtocolServer(components.host, CONTINUATION_PROTOCOL, {
      name: 'continuation', ioTimeoutMs: init.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS
    })
  }

  /** Creates and starts the service; it is stopped with `stop`, or ends with its host. */
  static async start (components: ContinuationServiceComponents, init: ContinuationServiceInit = {}): Promise<ContinuationService> {
    const service = new ContinuationService(components, init)
    await service.server.start(async (stream, connection) => { await service.serve(stream, connection) })
    return service
  }

  async stop (): Promise<void> {
    await this.server.stop()
  }

  /** What this node answers `peer`'s decoded request (never throws). */
  async answerFor (peer: PeerId | string, request: ContinuationRequest): Promise<ContinuationResponse> {
    const user = this.gate.admits(peer) ? undefined : this.gate.lightUserOf(peer)
    if (user === undefined) return refusal('NOT_ADMITTED', NOT_ADMITTED_MESSAGE)
    try {
      if (request.op === 'offer') {
        const offer = await this.offer(user)
        return { v: 1, ok: true, op: 'offer', key: offer.key, length: offer.length, plain: offer.plain }
      }
      const chain = await this.ledger.continueChain(user, decodeEntry(request.block))
      // N: where the migrate stands, the continuation manifest's prologue length.
      return { v: 1, ok: true, op: 'continue', key: chain.key, length: chain.layout.prologue?.length ?? chain.length }
    } catch (err) {
      return refusalOf(err)
    }
  }

  /** The ledger's offer, after fetching the chain from peers when the copy here is not complete yet. */
  private async offer (user: UserId): Promise<{ key: Uint8Array, length: number, plain: MigratePlain }> {
    try {
      return await this.ledger.offerContinuation(user)
    } catch (err) {
      if (!(err instanceof LedgerError) || err.code !== 'MISSING_BLOCK') throw err
    }
    const chain = await this.ledger.chain(user)
    // Bounded by its own limit (the replication's stop cuts it too), not by the request's read/write limit.
    await this.replication.fetchChain(user, chain.key, { timeoutMs: this.fetchTimeoutMs })
    return await this.ledger.offerContinuation(user)
  }

  private refused (code: string): void {
    this.stats.refused.set(code, (this.stats.refused.get(code) ?? 0) + 1)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    if (this.server.stopped) {
      stream.abort(new NetError('STOPPED', 'the continuation service stopped'))
      return
    }
    let frame: Uint8Array
    try {
      frame = await readFrame(stream, { maxBytes: MAX_CONTINUATION_REQUEST_BYTES, signal: this.server.ioSignal() })
    } catch (err) {
      this.refused(err instanceof NetError ? err.code : 'STREAM_ENDED')
      stream.abort(err instanceof Error ? err : new Error('continuation request not read'))
      return
    }
    const peer = connection.remotePeer
    if (this.gate.admits(peer) || this.gate.lightUserOf(peer) === undefined) {
      await this.answer(stream, refusal('NOT_ADMITTED', NOT_ADMITTED_MESSAGE))
      return
    }
    let request: ContinuationRequest
    try {
      request = decodeContinuationRequest(frame)
    } catch (err) {
      await this.answer(stream, refusalOf(err))
      return
    }
    await this.answer(stream, await this.answerFor(peer, request))
  }

  private async answer (stream: Stream, response: ContinuationResponse): Promise<void> {
    if (!response.ok) this.refused(response.code)
    else if (response.op === 'offer') this.stats.offered++
    else this.stats.moved++
    const signal = this.server.ioSignal()
    try {
      await writeFrame(stream, encodeContinuationResponse(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error('continuation answer not written'))
    }
  }
}

function refusalOf (err: unknown): ContinuationResponse {
  return refusalOfError(err, 'the node could not move the chain', MAX_CONTINUATION_MESSAGE_CHARS)
}

// ---------------------------------------------------------------- light side

export interface ContinuationOptions {
  readonly signal?: AbortSignal
  /** Time limit of the exchange. Default 60 s. */
  readonly timeoutMs?: number
}

/** The offer a node made: what the user signs the migrate for. */
export interface OfferedContinuation {
  readonly key: Uint8Array
  readonly length: number
  readonly plain: MigratePlain
}

/**
 * One exchange with `peer`: its decoded answer (a refusal is an answer).
 * Throws NetError: STREAM_ENDED, TIMEOUT, STOPPED, or the codec's codes.
 */
export async function askContinuation (
  host: BaseHost, to: PeerId | string, request: ContinuationRequest, opts: ContinuationOptions = {}
): Promise<ContinuationResponse> {
  const peer = typeof to === 'string' ? peerIdFromString(to) : to
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_CONTINUATION_TIMEOUT_MS)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout])
  const what = `asking ${peer.toString()} to move this user's chain`
  const aborted = (): NetError => {
    const reason: unknown = signal.reason
    if (reason instanceof Error && reason.name === 'TimeoutError') return new NetError('TIMEOUT', `${what}: no answer in time`, { cause: reason })
    return new NetError('STOPPED', `${what}: aborted`, { cause: reason })
  }
  let stream: Stream
  try {
    stream = await host.dialProtocol(peer, CONTINUATION_PROTOCOL, { signal })
  } catch (cause) {
    if (signal.aborted) throw aborted()
    throw new NetError('STREAM_ENDED', `${what}: the protocol could not be opened`, { cause })
  }
  let frame: Uint8Array
  try {
    await writeFrame(stream, encodeContinuationRequest(request), { signal })
    frame = await readFrame(stream, { maxBytes: MAX_CONTINUATION_RESPONSE_BYTES, signal })
  } catch (cause) {
    stream.abort(cause instanceof Error ? cause : new Error('continuation request failed'))
    if (signal.aborted) throw aborted()
    throw cause
  }
  await stream.close({ signal }).catch(() => { stream.abort(new Error('continuation stream not closed')) })
  return decodeContinuationResponse(frame)
}

function refused (response: Extract<ContinuationResponse, { ok: false }>): NetError {
  return new NetError('REFUSED', `the node refused to move the chain (${response.code}): ${response.message}`, { remoteCode: response.code })
}

/** The node's offer for this user's chain. REFUSED (remoteCode: the node's code), or askContinuation's errors. */
export async function askOffer (host: BaseHost, peer: PeerId | string, opts: ContinuationOptions = {}): Promise<OfferedContinuation> {
  const response = await askContinuation(host, peer, { v: 1, op: 'offer' }, opts)
  if (!response.ok) throw refused(response)
  if (response.op !== 'offer') throw new NetError('MALFORMED', 'the node answered an offer request with another answer')
  return { key: response.key, length: response.length, plain: response.plain }
}

/** Sends the signed migrate; the continuation's key and N once the node wrote it. REFUSED or askContinuation's errors. */
export async function sendMigrate (
  host: BaseHost, peer: PeerId | string, migrate: Entry, opts: ContinuationOptions = {}
): Promise<{ key: Uint8Array, length: number }> {
  const response = await askContinuation(host, peer, { v: 1, op: 'continue', block: encodeEntry(migrate) }, opts)
  if (!response.ok) throw refused(response)
  if (response.op !== 'continue') throw new NetError('MALFORMED', 'the node answered a migrate with another answer')
  return { key: response.key, length: response.length }
}
