/**
 * Who verifies which blocks of a chain, and when: the chain is cut into
 * chunks, read ahead in storage batches, verified (decoding, signatures,
 * leaf hashes: verifyBlocks) on a VerifyPool's workers or on the calling
 * thread, and handed to `fold` strictly in order.
 *
 * Chunks are handed out as they come: each worker keeps WORKER_QUEUE of them
 * queued, so it never waits for the calling thread between two, and the
 * calling thread verifies a chunk itself whenever the next one to fold is
 * still out and a read chunk is waiting. Both sides stay busy to the end,
 * whatever their speeds: a fixed share (every other window to the caller)
 * left one of them idle for a large part of a run, as the calling thread
 * also reads, folds the rules and receives the workers' answers.
 */
import type { CryptoProvider } from '@healthchain/core'
import { verifyBlocks, type BlocksJob, type BlocksVerdict } from './verify-blocks.js'
import type { VerifyPool } from './verify-pool.js'

/**
 * Blocks per chunk: large enough that a worker round trip and a storage
 * batch are a small part of it, small enough that neither thread waits long
 * for the other's last chunk at the end. Measured on 2 cores with ~1.3 KB
 * entries: 32 beat 64, 128 and 256 by 4-8%; 32 chunks read ahead beat 16
 * and 64; fewer than 2 chunks queued per worker left it idle.
 */
export const CHUNK = 32
/** Chunks read ahead of the one being folded (this bounds the blocks held in memory: 1024). */
const READ_AHEAD = 32
/** Chunks queued per worker. */
const WORKER_QUEUE = 2

export interface ChunkRange {
  readonly start: number
  readonly end: number
}

export interface ScheduleOptions<R extends { readonly blocks: BlocksJob['blocks'] }> {
  /** Blocks [start, length) are verified; start defaults to 0. */
  readonly start?: number
  readonly length: number
  /** Reads a chunk: its blocks, and whatever else fold needs (kept with it until folded). */
  readonly read: (range: ChunkRange) => Promise<R>
  /** The job for a chunk's blocks. */
  readonly job: (range: ChunkRange, blocks: BlocksJob['blocks']) => BlocksJob
  /** Folds a chunk's verdict, in chain order; false (or a promise of it) stops the run there: no later chunk is folded. */
  readonly fold: (range: ChunkRange, read: R, verdict: BlocksVerdict) => boolean | void | Promise<boolean | void>
  readonly crypto: CryptoProvider
  /** Without one (or for a chain of one chunk), everything runs on the calling thread. */
  readonly pool?: VerifyPool
  /**
   * Whether the calling thread verifies chunks too when a pool is given (default true), asked before each chunk. False
   * while it has other work to keep up with (a replica's ingest while the transfer runs): it then only reads, hands out
   * and folds.
   */
  readonly callerVerifies?: boolean | (() => boolean)
  /**
   * Hand chunks to the pool only once a worker is ready (default false: jobs posted earlier wait for it), and take a
   * chunk back whose job failed rather than fail. For a caller that would rather verify on its own thread than wait
   * seconds for a worker's start, or stop for a lost one (a replica's catch-up).
   */
  readonly whenReady?: boolean
}

interface Chunk<R> extends ChunkRange {
  read?: R
  /** Given to a worker or verified here. */
  taken: boolean
  verdict?: BlocksVerdict
  failed?: { error: unknown }
  /** Its job failed in a worker: verified on the calling thread (`whenReady` only). */
  here?: boolean
}

export async function verifyInChunks<R extends { readonly blocks: BlocksJob['blocks'] }> (opts: ScheduleOptions<R>): Promise<void> {
  const { length, crypto } = opts
  const first = opts.start ?? 0
  const pool = opts.pool !== undefined && opts.pool.size > 0 && length - first > CHUNK ? opts.pool : undefined
  const chunks: Array<Chunk<R>> = []
  let folded = 0
  let queued = 0
  // Reads and worker answers wake the loop below when it has nothing to do.
  let wake: (() => void) | undefined
  const notify = (): void => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  const fail = (chunk: Chunk<R>) => (error: unknown): void => {
    chunk.failed = { error }
    notify()
  }

  /** Starts reads up to READ_AHEAD chunks past the fold, and gives read chunks to workers that have room. */
  const feed = (): void => {
    for (let start = first + chunks.length * CHUNK; start < length && chunks.length - folded < READ_AHEAD; start += CHUNK) {
      const chunk: Chunk<R> = { start, end: Math.min(length, start + CHUNK), taken: false }
      chunks.push(chunk)
      opts.read(chunk).then((read) => {
        chunk.read = read
        notify()
      }, fail(chunk))
    }
    if (pool === undefined || (opts.whenReady === true && !pool.ready)) return
    for (let c = folded; queued < pool.size * WORKER_QUEUE && c < chunks.length; c++) {
      const chunk = chunks[c]!
      if (chunk.taken || chunk.read === undefined || chunk.here === true) continue
      chunk.taken = true
      queued++
      pool.run(opts.job(chunk, chunk.read.blocks)).then((verdict) => {
        queued--
        chunk.verdict = verdict
        notify()
      }, opts.whenReady === true
        // A worker lost (or the pool closed under a catch-up): the chunk is verified again, on this thread.
        ? () => {
            queued--
            chunk.taken = false
            chunk.here = true
            notify()
          }
        : fail(chunk))
    }
  }

  /** A read chunk no one has taken, lowest first (only one a worker failed on, if `failedOnly`). */
  const untaken = (failedOnly = false): Chunk<R> | undefined => {
    for (let c = folded; c < chunks.length; c++) {
      const chunk = chunks[c]!
      if (!chunk.taken && chunk.read !== undefined && (!failedOnly || chunk.here === true)) return chunk
    }
    return undefined
  }

  const total = Math.ceil(Math.max(0, length - first) / CHUNK)
  while (folded < total) {
    feed()
    const next = chunks[folded]!
    if (next.failed !== undefined) throw next.failed.error
    if (next.verdict !== undefined) {
      const more = await opts.fold(next, next.read!, next.verdict)
      // Let the blocks and the verdict go: only chunks past the fold are looked at again.
      next.read = undefined
      next.verdict = undefined
      folded++
      // Stopped early: reads and jobs still out settle into chunks nobody looks at again.
      if (more === false) return
      continue
    }
    const callerVerifies = typeof opts.callerVerifies === 'function' ? opts.callerVerifies() : opts.callerVerifies !== false
    const own = pool !== undefined && pool.ready && !callerVerifies ? untaken(true) : untaken()
    if (own !== undefined) {
      own.taken = true
      own.verdict = verifyBlocks(opts.job(own, own.read!.blocks), crypto)
      // Let worker answers and reads in (they arrive as events) before choosing what to do next.
      await new Promise<void>((resolve) => setImmediate(resolve))
      continue
    }
    await new Promise<void>((resolve) => { wake = resolve })
  }
}
