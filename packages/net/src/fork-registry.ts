/**
 * The fork proofs a node knows, one per chain (the first it verified; one
 * proof is enough to flag the custodian), kept in memory and in a local
 * Hypercore of the node's own store, `local/fork-proofs` (never announced;
 * one encoded ForkProof per block), so they survive a restart. Blocks are
 * verified again when loaded: a damaged block is skipped, not trusted.
 */
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { bytesToHex, type CryptoProvider } from '@healthchain/core'
import { decodeForkProof, encodeForkProof, verifyForkProof, type ForkProof } from './wire/fork-proof.js'

export const FORK_PROOFS_CORE = 'local/fork-proofs'

export class ForkRegistry {
  private readonly core: Hypercore
  private readonly crypto: CryptoProvider
  private readonly proofs = new Map<string, ForkProof>()
  /** Writes in order, one at a time. */
  private writing: Promise<unknown> = Promise.resolve()

  private constructor (core: Hypercore, crypto: CryptoProvider) {
    this.core = core
    this.crypto = crypto
  }

  static async open (store: Corestore, crypto: CryptoProvider): Promise<ForkRegistry> {
    const core = store.get({ name: FORK_PROOFS_CORE, active: false })
    await core.ready()
    const registry = new ForkRegistry(core, crypto)
    for (let seq = 0; seq < core.length; seq++) {
      const block = await core.get(seq, { wait: false })
      if (block === null) continue
      try {
        const proof = decodeForkProof(new Uint8Array(block))
        if (verifyForkProof(proof, crypto)) registry.remember(proof)
      } catch {
        // A damaged block proves nothing: skipped.
      }
    }
    return registry
  }

  private remember (proof: ForkProof): boolean {
    const id = bytesToHex(proof.a.key)
    if (this.proofs.has(id)) return false
    this.proofs.set(id, proof)
    return true
  }

  /**
   * Stores a proof the caller has verified (or made with makeForkProof);
   * resolves true once it is durably written, false if this chain already
   * has one.
   */
  async add (proof: ForkProof): Promise<boolean> {
    if (!verifyForkProof(proof, this.crypto) || !this.remember(proof)) return false
    const write = this.writing.then(async () => await this.core.append(encodeForkProof(proof)))
    this.writing = write.catch(() => {})
    await write
    return true
  }

  has (keyHex: string): boolean { return this.proofs.has(keyHex) }
  get (keyHex: string): ForkProof | undefined { return this.proofs.get(keyHex) }
  list (): ForkProof[] { return [...this.proofs.values()] }

  async close (): Promise<void> {
    await this.writing
    await this.core.close()
  }
}
