/**
 * Sealing of examiners' exams off the event loop. Sealing one exam is three
 * X25519 operations and an HKDF per recipient: about a quarter of what an
 * HTTP write costs the node's one JavaScript thread, and the same result on
 * any thread. So the daemon seals on worker threads (seal-worker.ts) and the
 * event loop keeps serving requests; with no workers it seals inline.
 *
 * A refusal raised while sealing (a sealed payload that does not fit the
 * schema, a bad recipient key) comes back as the same CoreError, code and
 * field, as it would inline.
 */
import { availableParallelism } from 'node:os'
import { CORE_ERROR_CODES, CoreError, seal, type CryptoProvider, type ExamSealed, type SealContext, type Sealed } from '@healthchain/core'
import { WorkerPool, reviveByCode, workerEntry } from '@healthchain/ledger'

const WORKER = workerEntry(import.meta.url, 'seal-worker')

/** seal() throws CoreErrors only: a failure with a core code is rebuilt as one, anything else is a plain Error. */
const reviveCoreError = reviveByCode('sealing', CORE_ERROR_CODES, (code, message, opts) => new CoreError(code, message, opts))

/** What seal-worker.ts seals: seal()'s arguments. */
export interface SealJob {
  readonly payload: ExamSealed
  readonly recipients: readonly Uint8Array[]
  readonly ctx: SealContext
}

export interface ExamSealer {
  /** seal()'s sealed segment for `payload`, for these recipients, bound to `ctx`'s chain and entry id. */
  seal (job: SealJob): Promise<Sealed>
  /** Seal jobs handed to the workers and not answered yet (0 when sealing on the event loop). */
  readonly queued: number
  close (): Promise<void>
}

/** Default worker count: one per core but the event loop's (at least one, at most four). */
export function defaultSealWorkers (): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1))
}

/** A sealer on `workers` worker threads, or inline on the calling thread when `workers` is 0. */
export function createExamSealer (crypto: CryptoProvider, workers: number = defaultSealWorkers()): ExamSealer {
  if (workers <= 0) {
    return {
      seal: async (job) => seal(job.payload, job.recipients, job.ctx, crypto).sealed,
      queued: 0,
      close: async () => {}
    }
  }
  const pool = new WorkerPool<SealJob, Sealed>({ ...WORKER, size: workers, name: 'sealing', revive: reviveCoreError })
  return {
    seal: async (job) => await pool.run(job),
    get queued () { return pool.queued },
    close: async () => { await pool.close() }
  }
}
