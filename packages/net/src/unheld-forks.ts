/**
 * Fork proofs of chains this node does not hold, kept in memory only and
 * bounded. A fork proof needs only the chain signer's two signatures, and
 * any member can mint a Hypercore and sign two histories of it: a proof
 * verifies whoever made the core. Whether a core is a healthchain chain of
 * a registry member's custodian can only be told from its genesis (block 0
 * names the custodian institution; the signer is that node's corestore key,
 * not the institution's registry key, so the signer cannot be checked
 * against the registry directly). A chain held here has had its genesis
 * checked (ChainRules: a user-signed genesis naming a custodian the
 * registry lists), so its proof goes to the persisted ForkRegistry, one per
 * held chain. Every other proof comes here: still enough to flag the chain
 * (no fetch of it starts, witnesses refuse it), at most `capacity` of them
 * (the oldest dropped first, counted), never written to disk, never served
 * on forks-sync. A real chain's proof that arrives before this node holds
 * the chain is lost only to a flood of more than `capacity` proofs, or to a
 * restart; reconciliation after a restart starts from the peers' first
 * proof and brings it back.
 */
import { bytesToHex } from '@healthchain/core'
import { NetError } from './errors.js'
import type { AnyForkProof } from './wire/any-fork-proof.js'

/** Proofs of chains not held here kept by default (at most 6 KiB each: 6 MB). */
export const DEFAULT_MAX_UNHELD_FORKS = 1024

export class UnheldForks {
  private readonly capacity: number
  private readonly proofs = new Map<string, AnyForkProof>()
  /** Proofs dropped to stay within the bound. */
  dropped = 0

  constructor (capacity: number = DEFAULT_MAX_UNHELD_FORKS) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new NetError('INVALID_FIELD', 'maxUnheldForks is a whole number, 0 or more', { field: 'maxUnheldForks' })
    this.capacity = capacity
  }

  /** Keeps a (verified) proof unless its chain has one; true if kept. */
  add (proof: AnyForkProof): boolean {
    const id = bytesToHex(proof.a.key)
    if (this.proofs.has(id)) return false
    if (this.capacity === 0) {
      this.dropped++
      return false
    }
    this.proofs.set(id, proof)
    if (this.proofs.size > this.capacity) {
      this.proofs.delete(this.proofs.keys().next().value!)
      this.dropped++
    }
    return true
  }

  has (keyHex: string): boolean { return this.proofs.has(keyHex) }
  get (keyHex: string): AnyForkProof | undefined { return this.proofs.get(keyHex) }
  /** Removes and returns the chain's proof (its chain became held: the proof goes to the fork registry). */
  take (keyHex: string): AnyForkProof | undefined {
    const proof = this.proofs.get(keyHex)
    this.proofs.delete(keyHex)
    return proof
  }

  list (): AnyForkProof[] { return [...this.proofs.values()] }
  get size (): number { return this.proofs.size }
}
