/**
 * The ledger's one change event: every chain that grows here is told once,
 * with its user, its new length and why —
 *
 * - `append`: this node, the custodian, wrote entries (its own, a user's, or
 *   one forwarded by another institution); fired once per written batch,
 *   after its erasures are applied and its requests answered;
 * - `ingest`: blocks fetched from a peer were checked and folded (the
 *   verified length moved), including those found when a chain reopens;
 * - `enrol`: a chain was created here (its genesis written and listed).
 *
 * Subscribers (the network's head announcements, the query index) get the
 * change synchronously; a listener that throws is its own problem.
 */
import type { UserId } from '@healthchain/core'

export type ChainChangeKind = 'append' | 'ingest' | 'enrol'

export interface ChainChange {
  readonly user: UserId
  /** The chain's length after the change: written (`append`, `enrol`) or verified (`ingest`). */
  readonly length: number
  readonly kind: ChainChangeKind
}

export type ChainChangeListener = (change: ChainChange) => void

export class ChainChanges {
  private readonly listeners = new Set<ChainChangeListener>()

  /** Calls `listener` on every change from now on; returns the function that stops it. */
  subscribe (listener: ChainChangeListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  emit (change: ChainChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch {
        // A listener's failure is its own: the change happened.
      }
    }
  }
}
