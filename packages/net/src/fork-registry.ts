/**
 * The fork proofs a node knows, one per chain (the first it verified; one
 * proof is enough to flag the custodian), of either kind (any-fork-proof.ts),
 * kept in memory and in a local Hypercore of the node's own store,
 * `local/fork-proofs` (never announced; one record per block,
 * fork-record.ts), so they survive a restart. Blocks are verified again
 * when loaded: a damaged block, or one a later build wrote in a record
 * version this one does not know, is skipped (counted), not trusted.
 *
 * Only proofs of chains held here are added (heads.ts): their genesis was
 * checked, so there is at most one per chain of the catalog. Proofs of other
 * chains — anyone can sign two histories of a core they made up — are kept
 * apart, in memory and bounded (unheld-forks.ts). Records written before
 * that, of any chain, are still loaded.
 *
 * The order proofs were recorded in is kept: forks-sync pages through it
 * with a cursor (`since`), as heads-sync does through the head log.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, type CryptoProvider } from '@healthchain/core'
import type { LocalCoreName, LocalCoreSource } from '@healthchain/ledger'
import { decodeForkRecord, encodeForkRecord } from './fork-record.js'
import { encodeAnyForkProof, verifyAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'

export const FORK_PROOFS_CORE = 'local/fork-proofs' satisfies LocalCoreName

/** A page of the proofs recorded from a cursor on, encoded for forks-sync. */
export interface ForkProofPage {
  readonly proofs: Uint8Array[]
  readonly next: number
  readonly more: boolean
}

export class ForkRegistry {
  private readonly core: Hypercore
  private readonly crypto: CryptoProvider
  private readonly proofs = new Map<string, AnyForkProof>()
  /** The proofs in the order they were recorded (on disk, then here). */
  private readonly ordered: AnyForkProof[] = []
  /** Blocks of the core that held no proof this build accepts. */
  private skippedBlocks = 0
  /** Writes in order, one at a time. */
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (core: Hypercore, crypto: CryptoProvider) {
    this.core = core
    this.crypto = crypto
  }

  static async open (cores: LocalCoreSource, crypto: CryptoProvider): Promise<ForkRegistry> {
    const core = await cores.localCore(FORK_PROOFS_CORE)
    const registry = new ForkRegistry(core, crypto)
    for (let seq = 0; seq < core.length; seq++) {
      const block = await core.get(seq, { wait: false })
      let proof: AnyForkProof | undefined
      try {
        proof = block === null ? undefined : decodeForkRecord(new Uint8Array(block))
      } catch {
        // A damaged or foreign record proves nothing: skipped below.
      }
      if (proof !== undefined && verifyAnyForkProof(proof, crypto)) registry.remember(proof)
      else registry.skippedBlocks++
    }
    return registry
  }

  private remember (proof: AnyForkProof): boolean {
    const id = bytesToHex(proof.a.key)
    if (this.proofs.has(id)) return false
    this.proofs.set(id, proof)
    this.ordered.push(proof)
    return true
  }

  /**
   * Stores a proof of either kind after verifying it; resolves true once it
   * is durably written, false if it does not verify or this chain already
   * has one.
   */
  async add (proof: AnyForkProof): Promise<boolean> {
    if (!verifyAnyForkProof(proof, this.crypto) || !this.remember(proof)) return false
    const write = this.writing.then(async () => await this.core.append(encodeForkRecord(proof)))
    this.writing = write.catch(() => {})
    await write
    return true
  }

  has (keyHex: string): boolean { return this.proofs.has(keyHex) }
  get (keyHex: string): AnyForkProof | undefined { return this.proofs.get(keyHex) }
  list (): AnyForkProof[] { return [...this.ordered] }

  /** Blocks skipped when loading (damaged, or a record version this build does not read). */
  get skipped (): number { return this.skippedBlocks }

  /** Up to `limit` proofs recorded from `cursor` on; a cursor past the end starts again from 0. */
  since (cursor: number, limit: number): ForkProofPage {
    const start = cursor > this.ordered.length ? 0 : cursor
    const page = this.ordered.slice(start, start + limit)
    const next = start + page.length
    return { proofs: page.map((p) => encodeAnyForkProof(p)), next, more: next < this.ordered.length }
  }

  async close (): Promise<void> {
    await this.writing
    await this.core.close()
  }
}
