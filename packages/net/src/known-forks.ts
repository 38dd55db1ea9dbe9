/**
 * The fork proofs a node knows, one per forked chain: of chains held here,
 * persisted (ForkRegistry, the local core `local/fork-proofs`: their genesis
 * was checked, a custodian the registry lists); of any other, in memory
 * only and bounded (UnheldForks: anyone can sign two histories of a core of
 * their own). With the custodian each held chain's genesis names, to flag.
 */
import { bytesToHex, type CryptoProvider, type InstitutionId } from '@healthchain/core'
import type { LocalCoreSource } from '@healthchain/ledger'
import { ForkRegistry, type ForkProofPage } from './fork-registry.js'
import type { ForkedChain } from './heads-types.js'
import { UnheldForks } from './unheld-forks.js'
import { verifyAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'

export class KnownForks {
  private registry: ForkRegistry | undefined
  private readonly unheld: UnheldForks
  private readonly custodians = new Map<string, InstitutionId>()

  constructor (maxUnheld?: number) {
    this.unheld = new UnheldForks(maxUnheld)
  }

  /** Opens the persisted registry; returns the proofs it holds, in the order recorded. */
  async open (cores: LocalCoreSource, crypto: CryptoProvider): Promise<AnyForkProof[]> {
    this.registry = await ForkRegistry.open(cores, crypto)
    return this.registry.list()
  }

  /** Whether proofs can be recorded (the registry is open). */
  get opened (): boolean { return this.registry !== undefined }

  /** The persisted proofs recorded after `cursor`, for forks-sync. */
  since (cursor: number, limit: number): ForkProofPage {
    return this.registry?.since(cursor, limit) ?? { proofs: [], next: 0, more: false }
  }

  has (keyHex: string): boolean { return (this.registry?.has(keyHex) ?? false) || this.unheld.has(keyHex) }
  get (keyHex: string): AnyForkProof | undefined { return this.registry?.get(keyHex) ?? this.unheld.get(keyHex) }
  /** Every proof, one per chain: the persisted ones in the order they were recorded, then those of chains not held. */
  list (): AnyForkProof[] { return [...this.registry?.list() ?? [], ...this.unheld.list()] }

  hasUnheld (keyHex: string): boolean { return this.unheld.has(keyHex) }
  /** The in-memory proof of a chain that has since become held, taken out to be persisted. */
  takeUnheld (keyHex: string): AnyForkProof | undefined { return this.unheld.take(keyHex) }
  /** Proofs of chains not held that the bound dropped. */
  get droppedUnheld (): number { return this.unheld.dropped }

  /**
   * Records a verified proof: persisted when its chain is `held`, else kept
   * within the bound (and verified again: it may come from anywhere). True
   * when it is new here.
   */
  async record (proof: AnyForkProof, held: boolean, crypto: CryptoProvider): Promise<boolean> {
    const registry = this.registry
    if (registry === undefined) return false
    const keyHex = bytesToHex(proof.a.key)
    if (held) {
      if (!await registry.add(proof)) return false
      this.unheld.take(keyHex)
      return true
    }
    return !registry.has(keyHex) && verifyAnyForkProof(proof, crypto) && this.unheld.add(proof)
  }

  /** The custodian a forked held chain's genesis names. */
  setCustodian (keyHex: string, custodian: InstitutionId): void { this.custodians.set(keyHex, custodian) }

  /** The forked chains, with the custodian to flag when this node holds the chain. */
  forkedChains (): ForkedChain[] {
    return this.list().map((p) => {
      const chain = bytesToHex(p.a.key)
      return { chain, length: p.a.length, custodian: this.custodians.get(chain) }
    })
  }

  async close (): Promise<void> { await this.registry?.close() }
}
