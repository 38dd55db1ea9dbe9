/**
 * DEV DOCS — "which chain is mine?", `/healthchain/my-chain/1.0.0`.
 *
 * A user who types the recovery phrase into a new phone has the keys (and
 * so the libp2p identity) but not the chain's key, and nothing else on the
 * network would tell it: heads gossip and heads-sync are for members only.
 * This exchange answers exactly that, and only about the asker:
 *
 *   light peer (LightPeer.findChainKey)      node (MyChainService)
 *   dial, send { v: 1 }               ──►    read one frame ≤ 64 B             (TOO_LARGE: stream aborted)
 *                                            full peer?                        NOT_ADMITTED
 *                                            a light peer of a user U held here?  else NOT_ADMITTED
 *                                            decode the request                else the codec's code
 *                                            U's chain (ledger), its genesis   else UNKNOWN_CHAIN
 *        { ok, chain, custodian }     ◄──    answer, close
 *      | { ok: false, code, message }
 *
 * The request is read before any answer, a refusal too: an answer sent
 * before the asker has finished writing could end the stream before its
 * reader is listening. The user is the connection's authenticated peer
 * (its peer id embeds the user's signing key; the Noise handshake proved
 * it), never a field of the request, so a node cannot be asked about
 * anyone else. A full member has no chain of its own: it is refused like a
 * stranger (strangers cannot connect at all; the gate refuses them first).
 *
 * The answer is a hint, not a proof: the phone fetches block 0 of the chain
 * and checks the user signed it for that key before recording it
 * (PhoneClient.discoverChain), so a node answering another chain's key
 * gains nothing (nodes never pair a light peer with another user's chain).
 *
 * The light side asks every connected node at once; the first answer wins.
 * A refusal from every node is REFUSED with `remoteCode` the first
 * refusal's code; no node connected is NO_PEER; no answer in time TIMEOUT.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { InstitutionId, UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { NetError } from './errors.js'
import { ProtocolServer } from './protocol-server.js'
import { refusal, refusalOf as refusalOfError } from './refusals.js'
import type { BaseHost } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import { readFrame, writeFrame } from './wire/framing.js'
import {
  MAX_MY_CHAIN_MESSAGE_CHARS, MAX_MY_CHAIN_REQUEST_BYTES, MAX_MY_CHAIN_RESPONSE_BYTES, MY_CHAIN_PROTOCOL,
  decodeMyChainRequest, decodeMyChainResponse, encodeMyChainRequest, encodeMyChainResponse, type MyChainResponse
} from './wire/my-chain.js'

/** Server side: reading a request, and writing its answer. */
const DEFAULT_IO_TIMEOUT_MS = 10_000
/** Light side: the whole exchange with every node asked. */
export const DEFAULT_MY_CHAIN_TIMEOUT_MS = 10_000
const NOT_ADMITTED_MESSAGE = 'only a user\'s own light peer may ask for its chain'

// ---------------------------------------------------------------- node side

export interface MyChainServiceComponents {
  readonly host: BaseHost
  readonly ledger: Ledger
  readonly gate: MembershipGate
}

export interface MyChainServiceInit {
  /** Time allowed to read a request and to write its answer. Default 10 s. */
  readonly ioTimeoutMs?: number
}

export interface MyChainStats {
  answered: number
  /** Refusals by code, including requests that never got an answer (TOO_LARGE, STREAM_ENDED, TIMEOUT, …). */
  readonly refused: Map<string, number>
}

/** Serves `/healthchain/my-chain/1.0.0`: tells a user's light peer its own chain's key and custodian. */
export class MyChainService {
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly server: ProtocolServer
  readonly stats: MyChainStats = { answered: 0, refused: new Map() }

  constructor (components: MyChainServiceComponents, init: MyChainServiceInit = {}) {
    this.ledger = components.ledger
    this.gate = components.gate
    this.server = new ProtocolServer(components.host, MY_CHAIN_PROTOCOL, { name: 'my-chain', ioTimeoutMs: init.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS })
  }

  async start (): Promise<void> {
    await this.server.start(async (stream, connection) => { await this.serve(stream, connection) })
  }

  /** Stops taking requests; pending reads and writes are cut. */
  async stop (): Promise<void> {
    await this.server.stop()
  }

  /**
   * What this node answers to the peer `peer` (never throws): its chain if
   * it is a light peer of a user whose chain is held here, else a refusal.
   */
  async answerFor (peer: PeerId | string): Promise<MyChainResponse> {
    // A full member is checked first: lightUserOf already says no to it, but the reason should not depend on that.
    const user = this.gate.admits(peer) ? undefined : this.gate.lightUserOf(peer)
    if (user === undefined) return refusal('NOT_ADMITTED', NOT_ADMITTED_MESSAGE)
    return await chainOf(this.ledger, user)
  }

  private refused (code: string): void {
    this.stats.refused.set(code, (this.stats.refused.get(code) ?? 0) + 1)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    if (this.server.stopped) {
      stream.abort(new NetError('STOPPED', 'the my-chain service stopped'))
      return
    }
    let frame: Uint8Array
    try {
      frame = await readFrame(stream, { maxBytes: MAX_MY_CHAIN_REQUEST_BYTES, signal: this.server.ioSignal() })
    } catch (err) {
      // No answer is possible: the framing is lost (TOO_LARGE, MALFORMED prefix; already aborted) or the stream is gone.
      this.refused(err instanceof NetError ? err.code : 'STREAM_ENDED')
      stream.abort(err instanceof Error ? err : new Error('my-chain request not read'))
      return
    }
    const peer = connection.remotePeer
    if (this.gate.admits(peer) || this.gate.lightUserOf(peer) === undefined) {
      // Refused before the request is decoded: nothing a non-user sends changes the answer.
      await this.answer(stream, refusal('NOT_ADMITTED', NOT_ADMITTED_MESSAGE))
      return
    }
    try {
      decodeMyChainRequest(frame)
    } catch (err) {
      await this.answer(stream, refusalOf(err))
      return
    }
    await this.answer(stream, await this.answerFor(peer))
  }

  private async answer (stream: Stream, response: MyChainResponse): Promise<void> {
    if (response.ok) this.stats.answered++
    else this.refused(response.code)
    const signal = this.server.ioSignal()
    try {
      await writeFrame(stream, encodeMyChainResponse(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error('my-chain answer not written'))
    }
  }
}

/** `user`'s chain key and custodian as this node holds them; never throws. */
async function chainOf (ledger: Ledger, user: UserId): Promise<MyChainResponse> {
  try {
    if (!ledger.hasChain(user)) return refusal('UNKNOWN_CHAIN', 'no chain of this user is held here')
    const chain = await ledger.chain(user)
    const custodian = chain.user?.custodian
    // A replica knows the custodian once its genesis is verified; until then it has nothing to vouch for.
    if (custodian === undefined) return refusal('UNKNOWN_CHAIN', 'the chain\'s genesis is not verified here yet')
    return { v: 1, ok: true, chain: chain.key, custodian }
  } catch (err) {
    return refusalOf(err)
  }
}

function refusalOf (err: unknown): MyChainResponse {
  return refusalOfError(err, 'the node could not look up the chain', MAX_MY_CHAIN_MESSAGE_CHARS)
}

// ---------------------------------------------------------------- light side

export interface MyChain {
  readonly chainKey: Uint8Array
  /** The institution the node says the genesis names (the client takes block 0's word for it). */
  readonly custodian: InstitutionId
}

export interface MyChainOptions {
  /** The caller's cancellation (STOPPED). */
  readonly signal?: AbortSignal
  /** Time limit of the exchange. Default 10 s. */
  readonly timeoutMs?: number
}

function abortedBy (signal: AbortSignal, what: string): NetError {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === 'TimeoutError') return new NetError('TIMEOUT', `${what}: no answer in time`, { cause: reason })
  return new NetError('STOPPED', `${what}: aborted`, { cause: reason })
}

/**
 * One exchange with `peer`: its decoded answer (a refusal is an answer, not
 * an error). Throws NetError: STREAM_ENDED (dial or stream failed),
 * TIMEOUT, STOPPED, or the answer's codec codes.
 */
export async function askMyChain (host: BaseHost, peer: PeerId, opts: MyChainOptions = {}): Promise<MyChainResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_MY_CHAIN_TIMEOUT_MS)
  const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout])
  const what = `asking ${peer.toString()} for this user's chain`
  let stream: Stream
  try {
    stream = await host.dialProtocol(peer, MY_CHAIN_PROTOCOL, { signal })
  } catch (cause) {
    if (signal.aborted) throw abortedBy(signal, what)
    throw new NetError('STREAM_ENDED', `${what}: the protocol could not be opened`, { cause })
  }
  let frame: Uint8Array
  try {
    await writeFrame(stream, encodeMyChainRequest({ v: 1 }), { signal })
    frame = await readFrame(stream, { maxBytes: MAX_MY_CHAIN_RESPONSE_BYTES, signal })
  } catch (cause) {
    stream.abort(cause instanceof Error ? cause : new Error('my-chain request failed'))
    if (signal.aborted) throw abortedBy(signal, what)
    throw cause
  }
  await stream.close({ signal }).catch(() => { stream.abort(new Error('my-chain stream not closed')) })
  return decodeMyChainResponse(frame)
}

/**
 * Asks every peer in `peers` at once; the first `ok` answer wins (the
 * others are cancelled). NO_PEER for an empty list; REFUSED (remoteCode:
 * the first refusal's code) when no peer said yes and at least one refused;
 * otherwise the first peer's error (TIMEOUT, STREAM_ENDED, …).
 */
export async function findMyChain (host: BaseHost, peers: readonly PeerId[], opts: MyChainOptions = {}): Promise<MyChain> {
  if (peers.length === 0) throw new NetError('NO_PEER', 'no node is connected')
  const done = new AbortController()
  const signal = opts.signal === undefined ? done.signal : AbortSignal.any([opts.signal, done.signal])
  const refusals: Array<Extract<MyChainResponse, { ok: false }>> = []
  const errors: unknown[] = []
  try {
    return await new Promise<MyChain>((resolve, reject) => {
      let pending = peers.length
      const settle = (): void => {
        if (--pending > 0) return
        const first = refusals[0]
        if (first !== undefined) {
          reject(new NetError('REFUSED', `no node tells this user's chain (${first.code}): ${first.message}`, { remoteCode: first.code }))
        } else {
          reject(errors[0] ?? new NetError('NO_PEER', 'no node answered'))
        }
      }
      for (const peer of peers) {
        askMyChain(host, peer, { signal, timeoutMs: opts.timeoutMs }).then((answer) => {
          if (answer.ok) resolve({ chainKey: answer.chain, custodian: answer.custodian })
          else refusals.push(answer)
          settle()
        }, (err: unknown) => {
          errors.push(err)
          settle()
        })
      }
    })
  } finally {
    done.abort(new NetError('STOPPED', 'another node answered'))
  }
}
