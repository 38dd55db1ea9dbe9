/**
 * Sends the outbox to the chain's custodian, oldest first.
 *
 *   for each pending item, in order:
 *     sign it for the next position and send it (resign.ts: re-signed after
 *       STALE_POSITION, the same loop the HTTP path uses), over the transport
 *       given (custodian-link.ts: /healthchain/append), and wait for the durable append
 *       acknowledged            → record `sent`, go on
 *       refused for good        → record `failed` with the custodian's code, go on
 *                                 (a refusal about this entry only: bad field, consent, erasure…)
 *       anything else           → stop; the item stays first in line
 *                                 (no node, timeout, custodian unknown or busy)
 *
 * One flush runs at a time; a flush asked for while one runs starts after
 * it, so an item queued meanwhile is never left behind. A timeout leaves an
 * outcome unknown: the item is sent again next time and the custodian
 * answers `duplicate: true` if it had been appended — exactly once either way.
 */
import { isCoreError, type CryptoProvider, type Entry, type UserKeys } from '@healthchain/core'
import { LedgerError, type AppendResult } from '@healthchain/ledger'
import { NetError } from '@healthchain/net'
import { ClientError, type ClientErrorCode } from './errors.js'
import type { FailedItem, Outbox } from './outbox.js'
import { sendSigned, type SendAnswer } from './resign.js'
import { signUserEntry } from './user-writes.js'

/** Custodian codes that concern the entry itself: sending it again can never succeed. */
const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([
  'MALFORMED', 'INVALID_FIELD', 'UNKNOWN_TYPE', 'TOO_LARGE', 'UNSUPPORTED_VERSION', 'BAD_SIGNATURE', 'BAD_KEY', 'DUPLICATE_ENTRY',
  'ROLE_FORBIDDEN', 'FORBIDDEN', 'CONSENT_VIOLATION', 'BAD_ERASURE', 'BAD_GENESIS', 'UNKNOWN_AUTHOR', 'AUTHOR_SUSPENDED'
])

export interface SentItem {
  readonly id: string
  readonly seq: number
  /** The custodian had it already (a resend after a lost acknowledgement). */
  readonly duplicate: boolean
}

export interface FlushResult {
  readonly sent: SentItem[]
  readonly failed: Array<Pick<FailedItem, 'id' | 'code'>>
  /** Items still waiting. */
  readonly pending: number
  /** Why sending stopped before the outbox was empty. */
  readonly stopped?: ClientError
}

export type ItemOutcome =
  | { readonly state: 'sent', readonly seq: number }
  | { readonly state: 'failed', readonly remoteCode: string }

export interface SenderComponents {
  readonly outbox: Outbox
  /** The user's keys in force now (the generation the chain's last rekey revealed). */
  readonly keys: () => UserKeys
  readonly crypto: CryptoProvider
  /** The chain key, or NOT_ENROLLED. */
  readonly chainKey: () => Uint8Array
  /** Makes the custodian dialable if it can be (best effort); called before sending. */
  readonly reachCustodian: () => Promise<void>
  /** The length of this device's copy of the chain: the first position signed for when the sender knows no later one. */
  readonly chainLength: () => Promise<number>
  /** Sends an entry signed for `slot` to the custodian (custodian-link.ts). */
  readonly send: (entry: Entry, slot: { chainKey: Uint8Array, seq: number }, opts: { timeoutMs: number }) => Promise<SendAnswer<AppendResult>>
}

export interface SenderInit {
  /** Per entry: dial, send, and the custodian's durable append. Default 10 s. */
  readonly appendTimeoutMs?: number
}

type Verdict = { readonly refused: string } | { readonly stop: ClientError }

/** What a failed send means for the item: refused for good, or stop and try again later. */
function judge (err: unknown): Verdict {
  if (err instanceof NetError) {
    if (err.code === 'REFUSED') {
      const remote = err.remoteCode ?? 'UNKNOWN'
      if (PERMANENT_REFUSALS.has(remote)) return { refused: remote }
      return { stop: new ClientError('REFUSED', `the custodian cannot take the entry now (${remote}); it stays queued`, { remoteCode: remote, cause: err }) }
    }
    const codes: Partial<Record<string, ClientErrorCode>> = {
      NO_PEER: 'NOT_CONNECTED', CUSTODIAN_UNREACHABLE: 'NOT_CONNECTED', TIMEOUT: 'TIMEOUT', UNKNOWN_CUSTODIAN: 'NOT_SYNCED', STOPPED: 'CLOSED'
    }
    return { stop: new ClientError(codes[err.code] ?? 'NETWORK', `not sent: ${err.message}`, { cause: err }) }
  }
  if (err instanceof LedgerError && err.code === 'UNKNOWN_CHAIN') {
    return { stop: new ClientError('NOT_SYNCED', 'the chain has not been synced to this device yet, so its custodian is unknown', { cause: err }) }
  }
  if (err instanceof ClientError) return { stop: err }
  // Signing refused the entry itself (core's codes): it can never be sent.
  if (isCoreError(err)) return { refused: err.code }
  return { stop: new ClientError('NETWORK', 'not sent: an unexpected error', { cause: err }) }
}

export class Sender {
  private readonly c: SenderComponents
  private readonly appendTimeoutMs: number
  private tail: Promise<unknown> = Promise.resolve()
  /** The chain's next position as last acknowledged, so consecutive sends need no STALE_POSITION round trip. */
  private nextSeq: number | undefined
  /** Outcomes of items sent or refused in this session, by entry id. */
  private readonly outcomes = new Map<string, ItemOutcome>()

  constructor (components: SenderComponents, init: SenderInit = {}) {
    this.c = components
    this.appendTimeoutMs = init.appendTimeoutMs ?? 10_000
  }

  outcomeOf (id: string): ItemOutcome | undefined { return this.outcomes.get(id) }

  /** Resolves once no flush is running or waiting. */
  async idle (): Promise<void> {
    await this.tail
  }

  /** Sends what is pending, in order (see the file comment). Never throws: why it stopped is in `stopped`. */
  flush (): Promise<FlushResult> {
    const run = this.tail.then(async () => await this.run())
    this.tail = run.catch(() => {})
    return run
  }

  private async run (): Promise<FlushResult> {
    const sent: SentItem[] = []
    const failed: FlushResult['failed'] = []
    let stopped: ClientError | undefined
    if (this.c.outbox.pendingCount > 0) {
      try {
        const chainKey = this.c.chainKey()
        await this.c.reachCustodian()
        for (let item = this.c.outbox.pending()[0]; item !== undefined; item = this.c.outbox.pending()[0]) {
          let result
          try {
            const entry = item.entry
            result = await sendSigned({
              length: async () => this.nextSeq ?? await this.c.chainLength(),
              sign: (seq) => signUserEntry(entry, this.c.keys(), { chainKey, seq }, this.c.crypto),
              send: async (signed, seq) => await this.c.send(signed, { chainKey, seq }, { timeoutMs: this.appendTimeoutMs })
            })
          } catch (err) {
            const verdict = judge(err)
            if ('stop' in verdict) {
              stopped = verdict.stop
              break
            }
            await this.c.outbox.markFailed(item, verdict.refused)
            this.outcomes.set(item.id, { state: 'failed', remoteCode: verdict.refused })
            failed.push({ id: item.id, code: verdict.refused })
            continue
          }
          // Acknowledged: durable at the custodian. A crash before the next line resends it, answered `duplicate`.
          await this.c.outbox.markSent(item, result.seq)
          this.nextSeq = Math.max(this.nextSeq ?? 0, result.seq + 1)
          this.outcomes.set(item.id, { state: 'sent', seq: result.seq })
          sent.push({ id: item.id, seq: result.seq, duplicate: result.duplicate })
        }
      } catch (err) {
        // NOT_ENROLLED from chainKey(), or the outbox could not record an outcome on the device.
        stopped = err instanceof ClientError ? err : new ClientError('DEVICE_STATE', 'the outbox could not be updated on this device', { cause: err })
      }
    }
    try {
      await this.c.outbox.compact()
    } catch (err) {
      stopped ??= new ClientError('DEVICE_STATE', 'the outbox could not be compacted on this device', { cause: err })
    }
    return { sent, failed, pending: this.c.outbox.pendingCount, ...(stopped === undefined ? {} : { stopped }) }
  }
}
