/**
 * Worker threads for verification. Checking a chain is mostly decoding and
 * Ed25519 verification of independent blocks, so it spreads over the
 * machine's cores; the order-dependent rules stay on the calling thread.
 * Jobs and verdicts cross threads packed (verify-codec.ts).
 *
 * The workers run the compiled worker once built, and the TypeScript
 * sources through tsx's loader in the repository (workerEntry).
 */
import { availableParallelism } from 'node:os'
import type { BlocksJob, BlocksVerdict } from './verify-blocks.js'
import { packJob, unpackVerdict, type PackedVerdict } from './verify-codec.js'
import { LEDGER_ERROR_CODES, LedgerError } from './errors.js'
import { WorkerPool, reviveByCode, workerEntry } from './worker-pool.js'

const WORKER = workerEntry(import.meta.url, 'verify-worker')

export class VerifyPool {
  readonly size: number
  private readonly pool: WorkerPool<BlocksJob, PackedVerdict>

  /** Default: one worker per core but one, since the calling thread verifies its share too (at least one, at most four). */
  constructor (size: number = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    // A job that throws a core or ledger error reaches the caller as a LedgerError, as on the calling thread (asLedgerError).
    const revive = reviveByCode('verification', LEDGER_ERROR_CODES, (code, message, opts) => new LedgerError(code, message, opts))
    this.pool = new WorkerPool({ ...WORKER, size, name: 'verification', revive })
    this.size = this.pool.size
  }

  /** Jobs handed to the workers and not answered yet (none when verifying on the calling thread). */
  get queued (): number { return this.pool.queued }

  /** Whether a worker is ready to take jobs (WorkerPool.ready). */
  get ready (): boolean { return this.pool.ready }

  /** Starts the workers ahead of the first job (WorkerPool.warm). */
  warm (): void { this.pool.warm() }

  /**
   * Runs a job on the worker with the fewest jobs queued. The job's blocks
   * are copied into one buffer that is transferred (verify-codec.ts), so the
   * caller may keep or drop its own.
   */
  async run (job: BlocksJob): Promise<BlocksVerdict> {
    const { message, transfer } = packJob(job)
    return unpackVerdict(await this.pool.run(message, transfer))
  }

  async close (): Promise<void> {
    await this.pool.close()
  }
}
