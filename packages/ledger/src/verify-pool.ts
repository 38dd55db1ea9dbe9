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
import type { BlockResult, BlocksJob } from './verify-blocks.js'

const WORKER_URL = new URL('./verify-worker-boot.mjs', import.meta.url)

interface Pending {
  resolve (results: BlockResult[]): void
  reject (err: Error): void
}

export class VerifyPool {
  readonly size: number
  private workers: Worker[] = []
  private readonly pending = new Map<number, Pending>()
  private nextId = 0
  private next = 0

  /** Default: one worker per core but one, since the calling thread verifies its share too (at least one, at most four). */
  constructor (size: number = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.size = Math.max(0, size)
  }

  private start (): void {
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(WORKER_URL)
      worker.on('message', (message: { id: number, results?: BlockResult[], error?: string }) => {
        const pending = this.pending.get(message.id)
        if (pending === undefined) return
        this.pending.delete(message.id)
        this.refWhileBusy()
        if (message.results !== undefined) pending.resolve(message.results)
        else pending.reject(new Error(`verification worker failed: ${message.error ?? 'unknown error'}`))
      })
      worker.on('error', (err) => this.failAll(err))
      worker.unref()
      this.workers.push(worker)
    }
  }

  private failAll (err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err)
    this.pending.clear()
    this.refWhileBusy()
  }

  /** Idle workers must not keep the process alive; busy ones must, or a pending job is dropped at exit. */
  private refWhileBusy (): void {
    for (const worker of this.workers) {
      if (this.pending.size > 0) worker.ref()
      else worker.unref()
    }
  }

  /** Runs a job on the next worker (round robin). */
  run (job: BlocksJob): Promise<BlockResult[]> {
    if (this.workers.length === 0) this.start()
    const worker = this.workers[this.next++ % this.workers.length]!
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.refWhileBusy()
      worker.postMessage({ id, job })
    })
  }

  async close (): Promise<void> {
    const workers = this.workers
    this.workers = []
    this.failAll(new Error('verification pool closed'))
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
