/**
 * DEV DOCS — reconciliation: heads (`/healthchain/heads-sync/1.0.0`) and
 * fork proofs (`/healthchain/forks-sync/1.0.0`).
 *
 * Gossip is best effort (a publish before a peer's subscription has arrived
 * is dropped), so whenever two admitted nodes get a replication channel
 * (replication.ts `onChannel`, both sides), each asks the other for the heads
 * it logged since the last cursor it got from that peer (0 at first, and
 * after a restart: cursors are kept in memory), page by page, then for the
 * fork proofs it recorded since the last forks cursor, the same way:
 *
 *   requester                                  responder (admitted peers only)
 *   { v: 1, since }                    ──►     HeadLog.since(since, 1024)
 *                                      ◄──     { v: 1, heads, next, more }
 *   onHeads(heads) (verified one by one, as gossip), keep `next`;
 *   more? ask again with since = next, on a new stream
 *
 *   { v: 1, since }                    ──►     the fork registry from `since` (16 a page)
 *                                      ◄──     { v: 1, proofs, next, more }
 *   onProofs(proofs) (decoded and verified one by one, as gossip), keep `next`; more? again
 *
 * A fork's two heads travel in the head log too (heads.ts), but heads of two
 * lengths prove nothing to a node that holds no copy of the longer history:
 * the proof itself travels on forks-sync. One request per stream. Failures
 * are counted (a peer without forks-sync, a build from before it, fails
 * that part only); the next connection tries again from the last cursors
 * kept.
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
  FORKS_SYNC_PROTOCOL, MAX_FORKS_SYNC_REQUEST_BYTES, MAX_FORKS_SYNC_RESPONSE_BYTES, MAX_PROOFS_PER_SYNC,
  decodeForksSyncRequest, decodeForksSyncResponse, encodeForksSyncRequest, encodeForksSyncResponse
} from './wire/forks-sync.js'
import {
  HEADS_SYNC_PROTOCOL, MAX_HEADS_PER_SYNC, MAX_HEADS_SYNC_REQUEST_BYTES, MAX_HEADS_SYNC_RESPONSE_BYTES,
  decodeHeadsSyncRequest, decodeHeadsSyncResponse, encodeHeadsSyncRequest, encodeHeadsSyncResponse
} from './wire/heads-sync.js'

/** The fork proofs a node serves on forks-sync: a page of encoded proofs from a cursor (ForkRegistry.since). */
export interface ForkProofSource {
  since (cursor: number, limit: number): { proofs: Uint8Array[], next: number, more: boolean }
}

export interface HeadsReconcilerComponents {
  readonly host: Host
  readonly gate: MembershipGate
  readonly log: HeadLog
  readonly forks: ForkProofSource
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
  /** Receives each page of encoded fork proofs (not yet decoded or verified); awaited before the next page. */
  readonly onProofs: (proofs: Uint8Array[], peer: string) => Promise<void>
  /** Per exchange (dial, request, response); default 10 s. */
  readonly timeoutMs?: number
  /** Most pages per reconciliation; default 1,000 (a million heads). */
  readonly maxPages?: number
  /** After a reconciliation with `peer` completed: every head and fork proof it logged was handed to onHeads and onProofs. */
  readonly onSynced?: (peer: string) => void
}

export interface ReconcileStats {
  /** Reconciliations completed (heads and fork proofs), pages served (either protocol), fork proofs received, and failures (either side) by code. */
  synced: number
  served: number
  proofs: number
  readonly failed: Map<string, number>
}

export class HeadsReconciler {
  private readonly host: Host
  private readonly gate: MembershipGate
  private readonly log: HeadLog
  private readonly forks: ForkProofSource
  private readonly onHeads: HeadsReconcilerInit['onHeads']
  private readonly onProofs: HeadsReconcilerInit['onProofs']
  private readonly timeoutMs: number
  private readonly maxPages: number
  private readonly ready: Promise<void>
  private readonly onSynced: (peer: string) => void
  /** The last `next` each peer gave us, for heads and for fork proofs. */
  private readonly cursors = new Map<string, number>()
  private readonly forkCursors = new Map<string, number>()
  /** Reconciliations under way, and peers to reconcile again once theirs ends. */
  private readonly running = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private readonly controller = new AbortController()
  private started = false
  readonly stats: ReconcileStats = { synced: 0, served: 0, proofs: 0, failed: new Map() }

  constructor (components: HeadsReconcilerComponents, init: HeadsReconcilerInit) {
    this.host = components.host
    this.gate = components.gate
    this.log = components.log
    this.forks = components.forks
    this.onHeads = init.onHeads
    this.onProofs = init.onProofs
    this.timeoutMs = init.timeoutMs ?? 10_000
    this.maxPages = init.maxPages ?? 1000
    this.ready = init.ready ?? Promise.resolve()
    this.onSynced = init.onSynced ?? (() => {})
  }

  async start (): Promise<void> {
    for (const [protocol, serve] of [[HEADS_SYNC_PROTOCOL, this.serveHeads], [FORKS_SYNC_PROTOCOL, this.serveForks]] as const) {
      await this.host.handle(protocol, (stream, connection) => {
        serve.call(this, stream, connection).catch((err: unknown) => {
          this.failed(err)
          stream.abort(err instanceof Error ? err : new Error('sync failed'))
        })
      })
    }
    this.started = true
  }

  private failed (err: unknown): void {
    const code = err instanceof NetError ? err.code : 'INTERNAL'
    this.stats.failed.set(code, (this.stats.failed.get(code) ?? 0) + 1)
  }

  private signal (): AbortSignal {
    return AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.timeoutMs)])
  }

  /** Whether to answer this stream at all: admitted peers only, and not once stopped. */
  private refuses (stream: Stream, connection: Connection): boolean {
    if (!this.controller.signal.aborted && this.gate.admits(connection.remotePeer)) return false
    stream.abort(new Error('sync refused'))
    return true
  }

  private async serveHeads (stream: Stream, connection: Connection): Promise<void> {
    if (this.refuses(stream, connection)) return
    const signal = this.signal()
    const request = decodeHeadsSyncRequest(await readFrame(stream, { maxBytes: MAX_HEADS_SYNC_REQUEST_BYTES, signal }))
    await abortable(this.ready, signal)
    const page = this.log.since(request.since, MAX_HEADS_PER_SYNC)
    await writeFrame(stream, encodeHeadsSyncResponse({ v: 1, heads: page.heads, next: page.next, more: page.more }), { signal })
    await stream.close({ signal })
    this.stats.served++
  }

  private async serveForks (stream: Stream, connection: Connection): Promise<void> {
    if (this.refuses(stream, connection)) return
    const signal = this.signal()
    const request = decodeForksSyncRequest(await readFrame(stream, { maxBytes: MAX_FORKS_SYNC_REQUEST_BYTES, signal }))
    const page = this.forks.since(request.since, MAX_PROOFS_PER_SYNC)
    await writeFrame(stream, encodeForksSyncResponse({ v: 1, proofs: page.proofs, next: page.next, more: page.more }), { signal })
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
    const heads = await this.pullPages(peer, HEADS_SYNC_PROTOCOL, this.cursors, async (since, signal, stream) => {
      await writeFrame(stream, encodeHeadsSyncRequest({ v: 1, since }), { signal })
      const response = decodeHeadsSyncResponse(await readFrame(stream, { maxBytes: MAX_HEADS_SYNC_RESPONSE_BYTES, signal }))
      return { ...response, handle: async () => { await this.onHeads(response.heads, peer) } }
    })
    if (!heads) return
    const proofs = await this.pullPages(peer, FORKS_SYNC_PROTOCOL, this.forkCursors, async (since, signal, stream) => {
      await writeFrame(stream, encodeForksSyncRequest({ v: 1, since }), { signal })
      const response = decodeForksSyncResponse(await readFrame(stream, { maxBytes: MAX_FORKS_SYNC_RESPONSE_BYTES, signal }))
      return {
        ...response,
        handle: async () => {
          this.stats.proofs += response.proofs.length
          await this.onProofs(response.proofs, peer)
        }
      }
    })
    if (!proofs) return
    this.stats.synced++
    this.onSynced(peer)
  }

  /**
   * Asks `peer` page by page on `protocol`, one stream a page, from the
   * cursor kept in `cursors`; each page is handled before the next is asked
   * for, and its `next` kept only once handled. False if the peer stopped
   * being admitted on the way.
   */
  private async pullPages (
    peer: string, protocol: string, cursors: Map<string, number>,
    exchange: (since: number, signal: AbortSignal, stream: Stream) => Promise<{ next: number, more: boolean, handle: () => Promise<void> }>
  ): Promise<boolean> {
    const peerId = peerIdFromString(peer)
    for (let page = 0; page < this.maxPages; page++) {
      if (!this.gate.admits(peer)) return false
      const signal = this.signal()
      const stream = await this.host.dialProtocol(peerId, protocol, { signal })
      let answer: Awaited<ReturnType<typeof exchange>>
      try {
        answer = await exchange(cursors.get(peer) ?? 0, signal, stream)
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error('sync failed'))
        throw err
      }
      await stream.close({ signal }).catch(() => { stream.abort(new Error('sync stream not closed')) })
      await answer.handle()
      cursors.set(peer, answer.next)
      if (!answer.more) break
    }
    return true
  }

  async stop (): Promise<void> {
    if (this.started) await this.host.unhandle([HEADS_SYNC_PROTOCOL, FORKS_SYNC_PROTOCOL]).catch(() => {})
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
