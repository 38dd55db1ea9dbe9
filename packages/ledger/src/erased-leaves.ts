/**
 * Leaf nodes of erased blocks, kept by this node.
 *
 * Hypercore's clear() deletes a block's data and also the tree nodes it no
 * longer needs — including the cleared leaf and parents its neighbours would
 * need to be re-proven against the signed head. So before clearing, the
 * ledger records each leaf (position, size, hash: a hash of the block, no
 * data) here; verification rebuilds the tree with these and every block that
 * remains is still checked against the custodian's signature.
 *
 * A local Hypercore (never replicated) of canonical CBOR records
 * `{ v: 1, chain: key, seq, size, hash }`.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { bytesToHex, decodeCanonical, encodeCanonical } from '@healthchain/core'
import type { MerkleNode } from './merkle.js'

const NAME = 'local/erased-leaves'

interface Record { v: 1, chain: Uint8Array, seq: number, size: number, hash: Uint8Array }

export class ErasedLeaves {
  private readonly core: Hypercore
  private readonly byChain = new Map<string, Map<number, MerkleNode>>()

  private constructor (core: Hypercore) {
    this.core = core
  }

  static async open (store: Corestore): Promise<ErasedLeaves> {
    const core = store.get({ name: NAME, active: false })
    await core.ready()
    const log = new ErasedLeaves(core)
    for (let i = 0; i < core.length; i++) {
      const block = await core.get(i, { wait: false })
      if (block !== null) log.remember(decodeCanonical(block) as Record)
    }
    return log
  }

  private remember (r: Record): void {
    const key = bytesToHex(r.chain)
    let leaves = this.byChain.get(key)
    if (leaves === undefined) this.byChain.set(key, leaves = new Map())
    leaves.set(r.seq, { index: 2 * r.seq, size: r.size, hash: r.hash })
  }

  /** Records leaves before their blocks are cleared. */
  async record (chain: Uint8Array, leaves: readonly MerkleNode[]): Promise<void> {
    const fresh = leaves.filter((l) => !this.of(chain).has(l.index / 2))
    if (fresh.length === 0) return
    const records: Record[] = fresh.map((l) => ({ v: 1, chain, seq: l.index / 2, size: l.size, hash: l.hash }))
    await this.core.append(records.map((r) => encodeCanonical(r)))
    for (const r of records) this.remember(r)
  }

  /** Recorded leaves of a chain, by position. */
  of (chain: Uint8Array): ReadonlyMap<number, MerkleNode> {
    return this.byChain.get(bytesToHex(chain)) ?? new Map()
  }

  async close (): Promise<void> { await this.core.close() }
}
