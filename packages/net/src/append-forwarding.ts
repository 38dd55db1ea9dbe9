/**
 * DEV DOCS — append forwarding, `/healthchain/append/1.0.0`.
 *
 * Only a chain's custodian holds its writing key, so a write made at any
 * other node is forwarded there. The wire messages are AppendRequest and
 * AppendResponse (wire/append.ts), one frame each (wire/framing.ts), one
 * request per stream:
 *
 *   writer                                   custodian (AppendService)
 *   sign(entry, chain key, seq = known length)
 *   dial, send { chain, seq, block }   ──►   gate admits the peer?   else NOT_ADMITTED
 *                                            (a user's light peer: its own chain only)
 *                                            read one frame ≤ MAX_APPEND_REQUEST_BYTES
 *                                              (refused from its length prefix, TOO_LARGE)
 *                                            chain by key?           else UNKNOWN_CHAIN
 *                                            writable here?          else NOT_CUSTODIAN
 *                                            decodeEntry(block)      else core's code
 *                                            await chain.append(entry, seq)   (durable)
 *        { ok, seq, duplicate }         ◄──  answer, close
 *      | { ok: false, code, message, length? }
 *   STALE_POSITION: re-sign for `length`, send again (at most `retries` times)
 *
 * Idempotence comes from the ledger: an entry id already in the chain with
 * the same content is answered with its existing position and `duplicate`,
 * whatever position the retry was signed for — so a writer that lost an
 * answer (TIMEOUT, CUSTODIAN_UNREACHABLE) simply sends the same entry again.
 *
 * Messages sent back are the ledger's and core's own (which carry no health
 * data or key material by contract), stripped of control characters and cut
 * to the wire limit; anything unexpected is answered INTERNAL with a fixed
 * text, never a stack trace.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeEntry, encodeEntry, type Entry, type UserId } from '@healthchain/core'
import { LedgerError, type AppendResult, type Ledger, type UserChain } from '@healthchain/ledger'
import { NetError } from './errors.js'
import { ProtocolServer } from './protocol-server.js'
import { refusal, refusalOf as refusalOfError } from './refusals.js'
import type { BaseHost } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import {
  APPEND_PROTOCOL, MAX_APPEND_REQUEST_BYTES, MAX_APPEND_RESPONSE_BYTES, decodeAppendRequest, decodeAppendResponse,
  encodeAppendRequest, encodeAppendResponse, type AppendRequest, type AppendResponse
} from './wire/append.js'
import { readFrame, writeFrame } from './wire/framing.js'

/** Re-signs after STALE_POSITION before giving up (REFUSED with remoteCode STALE_POSITION). */
export const DEFAULT_APPEND_RETRIES = 5
/** Per forwarded request: dial, send, and wait for the custodian's durable append. */
export const DEFAULT_APPEND_TIMEOUT_MS = 10_000
/** Server side: reading a request, and writing its answer. */
const DEFAULT_IO_TIMEOUT_MS = 10_000
const MAX_MESSAGE_CHARS = 500

// ---------------------------------------------------------------- custodian side

export interface AppendServiceComponents {
  readonly host: BaseHost
  readonly ledger: Ledger
  readonly gate: MembershipGate
}

export interface AppendServiceInit {
  /** Time allowed to read a request and to write its answer (not the append itself). Default 10 s. */
  readonly ioTimeoutMs?: number
  /** Throws (CATCHING_UP) when a write to the user's chain must wait: a restored node catching up (catch-up.ts). */
  readonly assertMayWrite?: (user: UserId) => Promise<void>
}

export interface AppendStats {
  appended: number
  duplicates: number
  /** Refusals by code, including requests that never got an answer (TOO_LARGE, STREAM_ENDED, TIMEOUT, …). */
  readonly refused: Map<string, number>
}

/** Serves `/healthchain/append/1.0.0`: appends forwarded entries to chains this node is custodian of. */
export class AppendService {
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly server: ProtocolServer
  private readonly assertMayWrite: ((user: UserId) => Promise<void>) | undefined
  readonly stats: AppendStats = { appended: 0, duplicates: 0, refused: new Map() }

  constructor (components: AppendServiceComponents, init: AppendServiceInit = {}) {
    this.ledger = components.ledger
    this.gate = components.gate
    this.server = new ProtocolServer(components.host, APPEND_PROTOCOL, { name: 'append', ioTimeoutMs: init.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS })
    this.assertMayWrite = init.assertMayWrite
  }

  async start (): Promise<void> {
    await this.server.start(async (stream, connection) => { await this.serve(stream, connection) })
  }

  /** Stops taking requests; appends under way finish (they are durable either way), pending reads and writes are cut. */
  async stop (): Promise<void> {
    await this.server.stop()
  }

  private refused (code: string): void {
    this.stats.refused.set(code, (this.stats.refused.get(code) ?? 0) + 1)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    if (this.server.stopped) {
      stream.abort(new NetError('STOPPED', 'the append service stopped'))
      return
    }
    // A user's light peer may write to its own chain only (and the chain rules still check it signed as the user).
    const lightUser = this.gate.admits(connection.remotePeer) ? undefined : this.gate.lightUserOf(connection.remotePeer)
    if (!this.gate.admits(connection.remotePeer) && lightUser === undefined) {
      await this.answer(stream, refusal('NOT_ADMITTED', 'this peer is not admitted by the registry'))
      return
    }
    let frame: Uint8Array
    try {
      frame = await readFrame(stream, { maxBytes: MAX_APPEND_REQUEST_BYTES, signal: this.server.ioSignal() })
    } catch (err) {
      // No answer is possible: the framing is lost (TOO_LARGE, MALFORMED prefix; already aborted) or the stream is gone.
      this.refused(err instanceof NetError ? err.code : 'STREAM_ENDED')
      stream.abort(err instanceof Error ? err : new Error('append request not read'))
      return
    }
    let request: AppendRequest
    try {
      request = decodeAppendRequest(frame)
    } catch (err) {
      await this.answer(stream, refusalOf(err))
      return
    }
    if (lightUser !== undefined && this.ledger.userOfChain(request.chain) !== lightUser) {
      await this.answer(stream, refusal('NOT_ADMITTED', 'a light peer may write to its own chain only'))
      return
    }
    // An entry appended here is announced from the ledger's change event.
    const response = await appendAsCustodian(this.ledger, request, this.assertMayWrite)
    await this.answer(stream, response)
  }

  private async answer (stream: Stream, response: AppendResponse): Promise<void> {
    if (response.ok) {
      if (response.duplicate) this.stats.duplicates++
      else this.stats.appended++
    } else {
      this.refused(response.code)
    }
    const signal = this.server.ioSignal()
    try {
      await writeFrame(stream, encodeAppendResponse(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error('append answer not written'))
    }
  }
}

/**
 * What the custodian answers to `request`: decodes the block and appends it
 * to the chain with that key, resolving only once it is durably written (or
 * refused). Never throws. Used by the server, and by a custodian for its own
 * author-signed writes so they follow the same path.
 */
export async function appendAsCustodian (
  ledger: Ledger, request: AppendRequest, assertMayWrite?: (user: UserId) => Promise<void>
): Promise<AppendResponse> {
  let chain: UserChain | undefined
  try {
    const user = ledger.userOfChain(request.chain)
    if (user === undefined) return refusal('UNKNOWN_CHAIN', 'no chain with this key is held here')
    chain = await ledger.chain(user)
    if (!chain.writable) return refusal('NOT_CUSTODIAN', 'this node is not the custodian of this chain')
    await assertMayWrite?.(user)
    const entry = decodeEntry(request.block)
    const { seq, duplicate } = await chain.append(entry, request.seq)
    return { v: 1, ok: true, seq, duplicate }
  } catch (err) {
    const response = refusalOf(err)
    if (!response.ok && response.code === 'STALE_POSITION' && chain !== undefined) {
      // The next position as the custodian knows it: its rules also count batches checked but still being written.
      return { ...response, length: Math.max(chain.length, chain.verifiedLength) }
    }
    return response
  }
}

function refusalOf (err: unknown): AppendResponse {
  return refusalOfError(err, 'the custodian could not append the entry', MAX_MESSAGE_CHARS)
}

// ---------------------------------------------------------------- writer side

export interface ForwardOptions {
  /** The caller's cancellation (STOPPED, or TIMEOUT if its reason is a TimeoutError). */
  readonly signal?: AbortSignal
  /** Time limit of the whole exchange, including the custodian's durable append. Default 10 s. */
  readonly timeoutMs?: number
}

function toPeerId (peer: PeerId | string): PeerId {
  if (typeof peer !== 'string') return peer
  try {
    return peerIdFromString(peer)
  } catch (cause) {
    throw new NetError('INVALID_FIELD', 'custodian peer: not a peer id', { field: 'peer', cause })
  }
}

function abortedBy (signal: AbortSignal): NetError {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new NetError('TIMEOUT', 'the custodian did not answer in time; the entry may or may not be appended (a retry is safe)', { cause: reason })
  }
  return new NetError('STOPPED', 'forwarding the entry was aborted', { cause: reason })
}

/**
 * Sends one append request to `peer` and returns its decoded answer (a
 * refusal is an answer, not an error). Throws NetError: CUSTODIAN_UNREACHABLE
 * (dial failed, or the stream failed before an answer), TIMEOUT (the request
 * was sent but no answer came in time: the outcome is unknown, a retry is
 * safe), STOPPED (the caller's signal), or the request's or answer's codec
 * codes (TOO_LARGE, INVALID_FIELD, MALFORMED, …).
 */
export async function forwardAppend (host: BaseHost, peer: PeerId | string, request: AppendRequest, opts: ForwardOptions = {}): Promise<AppendResponse> {
  const bytes = encodeAppendRequest(request)
  const peerId = toPeerId(peer)
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_APPEND_TIMEOUT_MS)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout])

  let stream: Stream
  try {
    stream = await host.dialProtocol(peerId, APPEND_PROTOCOL, { signal })
  } catch (cause) {
    // Nothing was sent: even a dial that timed out is "unreachable", unless the caller cancelled.
    if (opts.signal?.aborted === true) throw abortedBy(opts.signal)
    throw new NetError('CUSTODIAN_UNREACHABLE', 'the custodian cannot be dialled', { cause })
  }
  let frame: Uint8Array
  try {
    await writeFrame(stream, bytes, { signal })
    frame = await readFrame(stream, { maxBytes: MAX_APPEND_RESPONSE_BYTES, signal })
  } catch (cause) {
    stream.abort(cause instanceof Error ? cause : new Error('append forwarding failed'))
    if (signal.aborted) throw abortedBy(signal)
    if (cause instanceof NetError && cause.code !== 'STREAM_ENDED') throw cause // an answer over its limit or badly framed
    throw new NetError('CUSTODIAN_UNREACHABLE', 'the stream to the custodian failed before it answered', { cause })
  }
  await stream.close({ signal }).catch(() => { stream.abort(new Error('append stream not closed')) })
  return decodeAppendResponse(frame)
}

export interface AppendViaCustodianInit extends ForwardOptions {
  readonly host: BaseHost
  readonly custodianPeer: PeerId | string
  readonly chainKey: Uint8Array
  /** Signs the entry for position `seq` (the same entry id and content every time). */
  readonly sign: (seq: number) => Entry
  /** The chain's length as the writer knows it: the first position signed for. */
  readonly knownLength: number
  /** Re-signs after STALE_POSITION before giving up; default 5. */
  readonly retries?: number
}

/**
 * Appends an entry at the chain's custodian: signs it for `knownLength`,
 * sends it, and on STALE_POSITION re-signs for the length the custodian
 * returned and sends again. Resolves with the position once the custodian
 * has durably appended it. Throws NetError: REFUSED (`remoteCode` is the
 * custodian's code; also STALE_POSITION once retries are spent),
 * CUSTODIAN_UNREACHABLE, TIMEOUT, STOPPED.
 */
export async function appendViaCustodian (init: AppendViaCustodianInit): Promise<AppendResult> {
  const peer = toPeerId(init.custodianPeer)
  const opts = { signal: init.signal, timeoutMs: init.timeoutMs }
  return await appendWithRetries((request) => forwardAppend(init.host, peer, request, opts), init)
}

type Send = (request: AppendRequest) => Promise<AppendResponse>

async function appendWithRetries (send: Send, init: Pick<AppendViaCustodianInit, 'chainKey' | 'sign' | 'knownLength' | 'retries'>): Promise<AppendResult> {
  const retries = init.retries ?? DEFAULT_APPEND_RETRIES
  let seq = init.knownLength
  for (let attempt = 0; ; attempt++) {
    const response = await send({ v: 1, chain: init.chainKey, seq, block: encodeEntry(init.sign(seq)) })
    if (response.ok) return { seq: response.seq, duplicate: response.duplicate }
    if (response.code === 'STALE_POSITION' && response.length !== undefined && attempt < retries) {
      seq = response.length
      continue
    }
    throw new NetError('REFUSED', `the custodian refused the entry (${response.code}): ${response.message}`, { remoteCode: response.code })
  }
}

/**
 * The libp2p peer id of the custodian of `user`'s chain: the genesis (in
 * this node's replica) names the custodian institution, the registry its
 * peer. UNKNOWN_CUSTODIAN if this node holds no replica, has not received
 * the genesis, or the registry names no peer for that institution.
 */
export async function custodianPeerOf (ledger: Ledger, user: UserId): Promise<string> {
  return custodianPeerOfChain(ledger, await localCopy(ledger, user))
}

async function localCopy (ledger: Ledger, user: UserId): Promise<UserChain> {
  try {
    return await ledger.chain(user)
  } catch (cause) {
    if (cause instanceof LedgerError && cause.code === 'UNKNOWN_CHAIN') {
      throw new NetError('UNKNOWN_CUSTODIAN', 'this node holds no replica of the chain, so it cannot tell its custodian', { cause })
    }
    throw cause
  }
}

function custodianPeerOfChain (ledger: Ledger, chain: UserChain): string {
  const custodian = chain.user?.custodian
  if (custodian === undefined) throw new NetError('UNKNOWN_CUSTODIAN', 'the chain\'s genesis has not reached this node yet')
  const peer = ledger.registry.state.institutionAt(custodian)?.peer
  if (peer === undefined) throw new NetError('UNKNOWN_CUSTODIAN', `the registry names no peer for custodian ${custodian}`)
  return peer
}

export interface AppendToChainInit extends ForwardOptions {
  readonly ledger: Ledger
  readonly host: BaseHost
  readonly user: UserId
  readonly sign: (seq: number) => Entry
  /** Default: the length of this node's copy of the chain. */
  readonly knownLength?: number
  readonly retries?: number
}

/**
 * A write at any node: appended here if this node is the chain's custodian,
 * else forwarded to the custodian (`custodianPeerOf`). The same result and
 * errors as appendViaCustodian, plus UNKNOWN_CUSTODIAN.
 */
export async function appendToChain (init: AppendToChainInit): Promise<AppendResult> {
  const chain = await localCopy(init.ledger, init.user)
  const target = { chainKey: chain.key, sign: init.sign, knownLength: init.knownLength ?? chain.length, retries: init.retries }
  if (chain.writable) return await appendWithRetries((request) => appendAsCustodian(init.ledger, request), target)
  const custodianPeer = custodianPeerOfChain(init.ledger, chain)
  return await appendViaCustodian({ ...target, host: init.host, custodianPeer, signal: init.signal, timeoutMs: init.timeoutMs })
}
