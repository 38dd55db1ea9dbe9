/**
 * Peer heads that were longer than this node's copy of their chain when
 * they arrived, kept until the copy reaches their length so they can be
 * compared with it then (own-copy-proof.ts). A fetch brings whichever
 * history the serving peer holds; a head of another history seen earlier
 * would otherwise never be held against it.
 *
 * Bounded: at most 4 heads per chain (the longest kept, duplicates of one
 * length and root once) and 4,096 chains (the one touched least recently
 * dropped first) — about 6.5 MB at worst. A head dropped is a comparison
 * missed here, never a wrong verdict; nodes holding a longer copy compare
 * it on arrival. Only heads of chains held here come in (heads.ts holds a
 * head against a copy only when it has one), so heads of made-up cores,
 * which no node holds, never take a place here.
 */
import { equal } from '@healthchain/core'
import type { SignedHead } from './wire/head.js'

export const MAX_DEFERRED_PER_CHAIN = 4
export const MAX_DEFERRED_CHAINS = 4096

export class DeferredHeads {
  private readonly byChain = new Map<string, SignedHead[]>()

  /** Keeps `head` of the chain `keyHex` for later. */
  add (keyHex: string, head: SignedHead): void {
    const heads = this.byChain.get(keyHex) ?? []
    this.byChain.delete(keyHex)
    if (!heads.some((h) => h.length === head.length && equal(h.root, head.root))) {
      heads.push(head)
      heads.sort((x, y) => y.length - x.length)
      heads.length = Math.min(heads.length, MAX_DEFERRED_PER_CHAIN)
    }
    this.byChain.set(keyHex, heads)
    if (this.byChain.size > MAX_DEFERRED_CHAINS) this.byChain.delete(this.byChain.keys().next().value!)
  }

  /** Removes and returns the heads of `keyHex` no longer than `length`. */
  take (keyHex: string, length: number): SignedHead[] {
    const heads = this.byChain.get(keyHex)
    if (heads === undefined) return []
    const due = heads.filter((h) => h.length <= length)
    const left = heads.filter((h) => h.length > length)
    if (left.length === 0) this.byChain.delete(keyHex)
    else this.byChain.set(keyHex, left)
    return due
  }

  /** Chains with heads waiting. */
  get size (): number { return this.byChain.size }
}
