/**
 * Holds a restored node's writes to its own chains until it has caught up.
 *
 * A node restored from a backup is a point in time: blocks it signed after
 * the backup point are held by its peers. Its cores are writable, so an
 * append would land at the length it has now — where a peer may already
 * hold a different block this node signed before it was lost. That is a
 * fork of its own chain, flagged against the institution. So, while held:
 *
 *   - a chain this node is custodian of takes a write only once `quorum`
 *     peers have reconciled heads with it (each sent every head it logged:
 *     a longer head of a chain held here is then being fetched) and the
 *     chain has verified every block any head seen says it has;
 *   - every other write to an own chain is refused with CATCHING_UP, never
 *     queued: the caller retries (HTTP 503) once the node caught up;
 *   - the hold ends for good once quorum peers answered and no own chain is
 *     behind (`onCaughtUp`; the node records it, so a restart does not hold
 *     again), or when the operator accepts the restored state (`release`).
 *
 * Chains this node only replicates are not held: their writes go to their
 * custodian, which orders them.
 */
import { bytesToHex, fromHex, type UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { NetError } from './errors.js'
import type { HeadsService } from './heads.js'

export interface CatchUpComponents {
  readonly ledger: Ledger
  readonly heads: HeadsService
}

export interface CatchUpInit {
  /** Peers that must have reconciled heads with this node before any own chain takes a write; default 1. */
  readonly quorum?: number
  /** Once, when the hold ends because the node caught up (not when released). */
  readonly onCaughtUp?: () => void
}

/** Where a held node stands. */
export interface CatchUpStatus {
  /** Whether writes to own chains are still held. */
  readonly holding: boolean
  /** Peers that completed a heads reconciliation since start, and how many are needed. */
  readonly peersReconciled: number
  readonly quorum: number
  /** Own chains a peer's head says are longer than verified here, and the blocks missing over them. */
  readonly chainsBehind: number
  readonly blocksBehind: number
}

export class CatchUp {
  private readonly ledger: Ledger
  private readonly heads: HeadsService
  readonly quorum: number
  private readonly onCaughtUp: () => void
  private readonly reconciled = new Set<string>()
  private holding = true
  private readonly unsubscribe: () => void
  private readonly timer: ReturnType<typeof setInterval>
  private checking = false

  constructor (components: CatchUpComponents, init: CatchUpInit = {}) {
    this.ledger = components.ledger
    this.heads = components.heads
    this.quorum = init.quorum ?? 1
    if (!Number.isSafeInteger(this.quorum) || this.quorum < 1) throw new NetError('INVALID_FIELD', 'the catch-up quorum is a whole number, 1 or more', { field: 'quorum' })
    this.onCaughtUp = init.onCaughtUp ?? (() => {})
    this.unsubscribe = this.heads.onReconciled((peer) => {
      this.reconciled.add(peer)
      void this.settle()
    })
    // Fetches end without an event of their own here: look again now and then while held.
    this.timer = setInterval(() => { void this.settle() }, 250)
    this.timer.unref()
  }

  get isHolding (): boolean { return this.holding }

  /** Throws CATCHING_UP when a write to the chain with this key (one this node is custodian of) must wait. */
  async assertMayWrite (user: UserId): Promise<void> {
    if (!this.holding) return
    const chain = await this.ledger.chain(user)
    if (!chain.writable) return
    const behind = this.heads.behindBy(bytesToHex(chain.key), chain.verifiedLength)
    if (this.reconciled.size >= this.quorum && behind === 0) return
    throw new NetError('CATCHING_UP', this.reconciled.size < this.quorum
      ? `restored from a backup: writes wait until ${this.quorum} peer(s) compared heads with this node (${this.reconciled.size} so far)`
      : `restored from a backup: this chain is ${behind} block(s) behind what peers hold; it is being fetched back`)
  }

  /** Where the hold stands: O(chains behind) (own ones among them are opened, as their fetch has them open anyway). */
  async status (): Promise<CatchUpStatus> {
    let chainsBehind = 0
    let blocksBehind = 0
    if (this.holding) {
      for (const { keyHex } of this.heads.chainsBehind()) {
        const user = this.ledger.userOfChain(fromHex(keyHex, 32, 'key'))
        if (user === undefined) continue
        const chain = await this.ledger.chain(user)
        if (!chain.writable) continue
        const blocks = this.heads.behindBy(keyHex, chain.verifiedLength)
        if (blocks > 0) {
          chainsBehind++
          blocksBehind += blocks
        }
      }
    }
    return { holding: this.holding, peersReconciled: this.reconciled.size, quorum: this.quorum, chainsBehind, blocksBehind }
  }

  /** Ends the hold if quorum peers answered and no own chain is behind. */
  private async settle (): Promise<void> {
    if (!this.holding || this.checking || this.reconciled.size < this.quorum) return
    this.checking = true
    try {
      const status = await this.status()
      if (status.chainsBehind > 0 || !this.holding) return
      this.end()
      this.onCaughtUp()
    } catch {
      // A chain that could not be opened (the node is stopping): looked at again at the next tick.
    } finally {
      this.checking = false
    }
  }

  /** The operator accepts the restored state as it is: writes go ahead without waiting. */
  release (): void { this.end() }

  private end (): void {
    this.holding = false
    this.unsubscribe()
    clearInterval(this.timer)
  }

  stop (): void { this.end() }
}
