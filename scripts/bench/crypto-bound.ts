/**
 * The crypto bound of a sealed exam write: the sealing (three recipients)
 * and the one Ed25519 signature every written exam costs, with no entry
 * model, no encoding and no storage. What one thread can do of this is
 * the ceiling the write paths are measured against (ledger-bench.ts for the
 * ledger's appends, http-bench.ts for the HTTP API).
 */
import { entrySigningMessage, seal, type CryptoProvider, type Entry, type ExamSealed } from '@healthchain/core'
import { rate } from './measure.js'

export interface CryptoBoundInit {
  readonly crypto: CryptoProvider
  /** The signer's Ed25519 secret key. */
  readonly signSecretKey: Uint8Array
  /** Three X25519 public keys: the user, the writing examiner, a granted examiner. */
  readonly recipients: readonly Uint8Array[]
  /** What is sealed: the bench exam's sealed part. */
  readonly sealed: ExamSealed
  /** A signed exam as the write path produces it: the signed message is as long as its signing message. */
  readonly sample: Entry
}

/** A run of `count` seal (three recipients) + sign operations, for `rate` or `interleavedRates`. */
export function cryptoBoundRun (init: CryptoBoundInit, count: number): () => void {
  const { crypto } = init
  const ctx = { chainKey: crypto.randomBytes(32), entryId: crypto.randomBytes(16) }
  // Same length as an entry's signing message, so the hashing inside sign costs the same.
  const message = crypto.randomBytes(entrySigningMessage(init.sample, { chainKey: ctx.chainKey, seq: 1 }).length)
  return () => {
    for (let i = 0; i < count; i++) {
      seal(init.sealed, init.recipients, ctx, crypto)
      crypto.sign(message, init.signSecretKey)
    }
  }
}

/** The crypto bound in entries per second on this thread: the median of `repeats` runs of `count`. */
export async function cryptoBoundRate (init: CryptoBoundInit, count: number, repeats = 3): Promise<number> {
  const run = cryptoBoundRun(init, count)
  run()
  return await rate(count, run, repeats)
}
