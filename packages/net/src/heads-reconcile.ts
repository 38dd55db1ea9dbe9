/**
 * DEV DOCS — heads reconciliation, `/healthchain/heads-sync/1.0.0`.
 *
 * Gossip is best effort (a publish before a peer's subscription has arrived
 * is dropped), so whenever two admitted nodes get a replication channel
 * (replication.ts `onChannel`, both sides), each asks the other for the heads
 * it logged since the last cursor it got from that peer (0 at first, and
 * after a restart: cursors are kept in memory), page by page:
 *
 *   requester                                  responder (admitted peers only)
 *   { v: 1, since }                    ──►     HeadLog.since(since, 1024)
 *                                      ◄──     { v: 1, heads, next, more }
 *   onHeads(heads) (verified one by one, as gossip), keep `next`;
 *   more? ask again with since = next, on a new stream
 *
 * One request per stream. Failures are counted; the next connection tries
 * again from the last cursor kept.
 *
 * The responder's log is seeded at start with every chain it holds
 * (head-seeding.ts), and answers wait until that is done (`ready`): so a
 * requester that restarted, asking since 0, or one holding a cursor from
 * the responder's earlier run (below every cursor of this run, see
 * head-log.ts), is told of every chain the responder holds.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { NetError } from './errors.js'
import type { HeadLog } from './head-log.js'
import type { Host } from './host.js'
import type { MembershipGate } from './membership-gate.js'
import type { SignedHead } from './wire/head.js'
import { readFrame, writeFrame } from './wire/framing.js'
import {
  HEADS_SYNC_PROTOCOL, MAX_HEADS_PER_SYNC, MAX_HEADS_SYNC_REQUEST_BYTES, MAX_HEADS_SYNC_RESPONSE_BYTES,
  decodeHeadsSyncRequest, decodeHeadsSyncResponse, encodeHeadsSyncRequest, encodeHeadsSyncResponse
} from './wire/heads-sync.js'

export interface HeadsReconcilerComponents {
  readonly host: Host
  readonly gate: MembershipGate
  readonly log: HeadLog
}

export interface HeadsReconcilerInit {
  /**
   * Awaited before a peer's request is answered (within the exchange's time
   * limit): the head log is being seeded from storage at start, and a peer
   * answered before that would take an incomplete log for the whole one.
   */
  readonly ready?: Promise<void>
  /** Receives each page of heads (not yet verified); awaited before the next page is asked for. */
  readonly onHeads: (heads: SignedHead[], peer: string) => Promise<void>
  /** Per exchange (dial, request, response); default 10 s. */
  readonly timeoutMs?: number
  /** Most pages per reconciliation; default 1,000 (a million heads). */
  readonly maxPages?: number
}

export interface ReconcileStats {
  /** Reconciliations completed, pages served, and failures (either side) by code. */
  synced: number
  served: number
  readonly failed: Map<string, number>
}

export class HeadsReconciler {
  private readonly host: Host
  private readonly gate: MembershipGate
  private readonly log: HeadLog
  private readonly onHeads: HeadsReconcilerInit['onHeads']
  private readonly timeoutMs: number
  private readonly maxPages: number
  private readonly ready: Promise<void>
  /** The last `next` each peer gave us. */
  private readonly cursors = new Map<string, number>()
  /** Reconciliations under way, and peers to reconcile again once theirs ends. */
  private readonly running = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private readonly controller = new AbortController()
  private started = false
  readonly stats: ReconcileStats = { synced: 0, served: 0, failed: new Map() }

  constructor (components: HeadsReconcilerComponents, init: HeadsReconcilerInit) {
    this.host = components.host
    this.gate = components.gate
    this.log = components.log
    this.onHeads = init.onHeads
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.maxPages = init.maxPages ?? 1000
    this.ready = init.ready ?? Promise.resolve()
  }

  async start (): Promise<void> {
    await this.host.handle(HEADS_SYNC_PROTOCOL, (stream, connection) => {
      this.serve(stream, connection).catch((err: unknown) => {
        this.failed(err)
        stream.abort(err instanceof Error ? err : new Error('heads sync failed'))
      })
    })
    this.started = true
  }

  private failed (err: unknown): void {
    const code = err instanceof NetError ? err.code : 'INTERNAL'
    this.stats.failed.set(code, (this.stats.failed.get(code) ?? 0) + 1)
  }

  private signal (): AbortSignal {
    return AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.timeoutMs)])
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    if (this.controller.signal.aborted || !this.gate.admits(connection.remotePeer)) {
      stream.abort(new Error('heads sync refused'))
      return
    }
    const signal = this.signal()
    const request = decodeHeadsSyncRequest(await readFrame(stream, { maxBytes: MAX_HEADS_SYNC_REQUEST_BYTES, signal }))
    await abortable(this.ready, signal)
    const page = this.log.since(request.since, MAX_HEADS_PER_SYNC)
    await writeFrame(stream, encodeHeadsSyncResponse({ v: 1, heads: page.heads, next: page.next, more: page.more }), { signal })
    await stream.close({ signal })
    this.stats.served++
  }

  /** Reconciles with `peer` (again after the one under way, if any). Never throws. */
  reconcile (peer: string): void {
    if (this.controller.signal.aborted) return
    if (this.running.has(peer)) {
      this.again.add(peer)
      return
    }
    const run = this.pull(peer).catch((err: unknown) => { if (!this.controller.signal.aborted) this.failed(err) }).finally(() => {
      this.running.delete(peer)
      if (this.again.delete(peer)) this.reconcile(peer)
    })
    this.running.set(peer, run)
  }

  private async pull (peer: string): Promise<void> {
    const peerId = peerIdFromString(peer)
    for (let page = 0; page < this.maxPages; page++) {
      if (!this.gate.admits(peer)) return
      const signal = this.signal()
      const stream = await this.host.dialProtocol(peerId, HEADS_SYNC_PROTOCOL, { signal })
      let bytes: Uint8Array
      try {
        await writeFrame(stream, encodeHeadsSyncRequest({ v: 1, since: this.cursors.get(peer) ?? 0 }), { signal })
        bytes = await readFrame(stream, { maxBytes: MAX_HEADS_SYNC_RESPONSE_BYTES, signal })
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error('heads sync failed'))
        throw err
      }
      await stream.close({ signal }).catch(() => { stream.abort(new Error('heads sync stream not closed')) })
      const response = decodeHeadsSyncResponse(bytes)
      await this.onHeads(response.heads, peer)
      this.cursors.set(peer, response.next)
      if (!response.more) break
    }
    this.stats.synced++
  }

  async stop (): Promise<void> {
    if (this.started) await this.host.unhandle(HEADS_SYNC_PROTOCOL).catch(() => {})
    this.started = false
    this.controller.abort(new NetError('STOPPED', 'heads sync stopped'))
    this.again.clear()
    await Promise.allSettled([...this.running.values()])
  }
}

/** Waits for `work`; TIMEOUT or STOPPED (by the signal's reason) if `signal` aborts first. */
async function abortable (work: Promise<void>, signal: AbortSignal): Promise<void> {
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      const reason: unknown = signal.reason
      const timedOut = reason instanceof Error && reason.name === 'TimeoutError'
      reject(timedOut ? new NetError('TIMEOUT', 'the head log was not ready in time', { cause: reason }) : new NetError('STOPPED', 'heads sync stopped', { cause: reason }))
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})
  try {
    await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
