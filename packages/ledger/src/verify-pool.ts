/**
 * Worker threads for verification. Checking a chain is mostly decoding and
 * Ed25519 verification of independent blocks, so it spreads over the
 * machine's cores; the order-dependent rules stay on the calling thread.
 * Workers start on first use and are ended by close().
 *
 * The workers run the TypeScript sources through tsx's loader, as the rest
 * of the project does (there is no build step).
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { BlocksJob, BlocksVerdict } from './verify-blocks.js'
import { packJob, unpackVerdict, type PackedVerdict } from './verify-codec.js'

const WORKER_URL = new URL('./verify-worker-boot.mjs', import.meta.url)

interface Pending {
  readonly worker: number
  resolve (verdict: BlocksVerdict): void
  reject (err: Error): void
}

export class VerifyPool {
  readonly size: number
  private workers: Worker[] = []
  private readonly pending = new Map<number, Pending>()
  /** Jobs posted to each worker and not answered yet. */
  private load: number[] = []
  private nextId = 0

  /** Default: one worker per core but one, since the calling thread verifies its share too (at least one, at most four). */
  constructor (size: number = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.size = Math.max(0, size)
  }

  private start (): void {
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(WORKER_URL)
      worker.on('message', (message: { id: number, verdict?: PackedVerdict, error?: string }) => {
        const pending = this.pending.get(message.id)
        if (pending === undefined) return
        this.pending.delete(message.id)
        this.load[pending.worker]!--
        this.refWhileBusy()
        if (message.verdict !== undefined) pending.resolve(unpackVerdict(message.verdict))
        else pending.reject(new Error(`verification worker failed: ${message.error ?? 'unknown error'}`))
      })
      worker.on('error', (err) => this.failAll(err))
      worker.unref()
      this.workers.push(worker)
      this.load.push(0)
    }
  }

  private failAll (err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err)
    this.pending.clear()
    this.load = this.load.map(() => 0)
    this.refWhileBusy()
  }

  /** Idle workers must not keep the process alive; busy ones must, or a pending job is dropped at exit. */
  private refWhileBusy (): void {
    for (const worker of this.workers) {
      if (this.pending.size > 0) worker.ref()
      else worker.unref()
    }
  }

  /**
   * Runs a job on the worker with the fewest jobs queued. The job's blocks
   * are copied into one buffer that is transferred (verify-codec.ts), so the
   * caller may keep or drop its own.
   */
  run (job: BlocksJob): Promise<BlocksVerdict> {
    if (this.workers.length === 0) this.start()
    let index = 0
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[index]!) index = i
    const id = this.nextId++
    const { message, transfer } = packJob(job)
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: index, resolve, reject })
      this.load[index]!++
      this.refWhileBusy()
      this.workers[index]!.postMessage({ id, job: message }, transfer)
    })
  }

  async close (): Promise<void> {
    const workers = this.workers
    this.workers = []
    this.failAll(new Error('verification pool closed'))
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
