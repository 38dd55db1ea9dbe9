/**
 * What peers send the heads service, before it is observed: heads (gossip,
 * or heads-sync pages) and fork proofs (forks-sync pages). A head that is,
 * byte for byte, the one logged for its chain, with nothing pending for the
 * chain here, is counted (`known`) and dropped; any other is verified on its
 * own unless a gossip validator already did (`invalid` when it fails), then
 * handed on to be observed. A fork proof is decoded and verified on its own
 * (`malformed` when either fails), then handed on to be recorded. The flow
 * around this is told at the top of heads.ts.
 */
import { bytesToHex, equal, type CryptoProvider } from '@healthchain/core'
import type { HeadLog } from './head-log.js'
import type { HeadsStats } from './heads-types.js'
import { decodeAnyForkProof, verifyAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'
import { verifyHead, type SignedHead } from './wire/head.js'

export interface HeadsIntakeComponents {
  readonly crypto: CryptoProvider
  /** The newest head logged per chain. */
  readonly log: HeadLog
  readonly stats: HeadsStats
  /** Whether something is pending for the chain (hex key) here: a head logged but not verified up to, or a fetch behind. */
  readonly pending: (keyHex: string) => boolean
  /** No more observations (the service stopped). */
  readonly stopped: () => boolean
  /** Observes a verified peer's head (one at a time, in the service's queue). */
  readonly observe: (head: SignedHead) => Promise<void>
  /** Records a verified fork proof (one at a time, in the service's queue). */
  readonly record: (proof: AnyForkProof) => Promise<void>
}

export class HeadsIntake {
  private readonly components: HeadsIntakeComponents

  constructor (components: HeadsIntakeComponents) {
    this.components = components
  }

  /** Heads from a peer (gossip or sync): each verified (unless a gossip validator already did), then observed. Never throws. */
  async receive (heads: readonly SignedHead[], opts: { verified?: boolean } = {}): Promise<void> {
    const { stats, crypto } = this.components
    for (const head of heads) {
      if (this.components.stopped()) return
      stats.received++
      if (this.isKnown(head)) {
        stats.known++
        continue
      }
      if (opts.verified !== true && !verifyHead(head, crypto)) {
        stats.invalid++
        continue
      }
      await this.components.observe(head)
    }
  }

  /**
   * Whether `head` is, byte for byte, the one logged for its chain, with
   * nothing pending for the chain here: then it was checked and acted on
   * when it was logged (or, seeded, it is this node's own stored head and
   * the blocks up to it are held), so it is neither verified (~50 µs) nor
   * observed again. After a restart, a peer's heads-sync is mostly such
   * heads, one per chain it holds.
   */
  private isKnown (head: SignedHead): boolean {
    const keyHex = bytesToHex(head.key)
    const logged = this.components.log.get(keyHex)
    return logged !== undefined && logged.length === head.length && logged.fork === head.fork &&
      equal(logged.root, head.root) && equal(logged.sig, head.sig) && equal(logged.signer, head.signer) &&
      !this.components.pending(keyHex)
  }

  /** Fork proofs from a peer's forks-sync page: each decoded and verified on its own (a bad one counted and skipped), then recorded. Never throws. */
  async receiveProofs (encoded: readonly Uint8Array[]): Promise<void> {
    const { stats, crypto } = this.components
    for (const bytes of encoded) {
      if (this.components.stopped()) return
      let proof: AnyForkProof
      try {
        proof = decodeAnyForkProof(bytes)
      } catch {
        stats.malformed++
        continue
      }
      if (!verifyAnyForkProof(proof, crypto)) {
        stats.malformed++
        continue
      }
      await this.components.record(proof)
    }
  }
}
