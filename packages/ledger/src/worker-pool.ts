/**
 * A small pool of worker threads running one kind of job (verification,
 * sealing): each job goes to the worker with the fewest jobs queued, and its
 * answer comes back as a promise. Workers start on first use (or `warm()`),
 * say when they are ready to take jobs (`ready`: loading their modules takes
 * a while, seconds from the TypeScript sources), keep the process alive only
 * while they have work, and are ended by close().
 *
 * The worker side is serveJobs (worker-serve.ts). A job that throws there is
 * answered with a WorkerFailure (name, code, message, field): `revive` turns
 * it back into the caller's typed error, so a refusal raised in a worker
 * reaches the caller with the same code as it would on the calling thread.
 * An error's class does not survive the thread boundary (only its fields
 * do), so it is rebuilt by code (reviveByCode): each pool knows which class
 * its jobs throw.
 *
 * A worker that stops unasked (out of memory, a crash in native code) fails
 * every job posted and not answered yet, and is dropped: the next job starts
 * the pool's workers again, so no job waits for an answer that cannot come.
 */
import { Worker } from 'node:worker_threads'

/** An error thrown by a job in a worker, as it crosses the thread boundary. */
export interface WorkerFailure {
  readonly name: string
  readonly message: string
  /** Set for a healthchain error (any package's) only. */
  readonly code?: string
  readonly field?: string
}

/**
 * A `revive` for a pool whose jobs throw one error family: a failure whose code is one of `codes` is rebuilt with
 * `make` (the same code and field), anything else is a plain Error naming the pool.
 */
export function reviveByCode<Code extends string> (
  pool: string, codes: readonly Code[], make: (code: Code, message: string, opts: { field?: string }) => Error
): (failure: WorkerFailure) => Error {
  return (failure) => {
    const code = codes.find((c) => c === failure.code)
    if (code === undefined) return new Error(`${pool} worker failed: ${failure.message}`)
    return make(code, failure.message, failure.field === undefined ? {} : { field: failure.field })
  }
}

/** The export condition under which each workspace package names its TypeScript sources (before dist/, the release build). */
export const SOURCE_CONDITION = '@healthchain/source'

/** Where a pool's threads start: the module and the Node options they need. */
export interface WorkerEntry {
  readonly url: URL
  readonly execArgv?: string[]
}

/**
 * The entry of the worker `name` beside the module at `moduleUrl`. Built (dist/), the thread runs the compiled
 * `<name>.js`. From the TypeScript sources (the repository, through tsx or vitest), it runs `<name>-boot.mjs`, which
 * registers tsx's loader in the thread, with the source condition so the workspace packages it imports resolve to
 * their sources too: a thread inherits neither the parent's loader hooks nor vitest's resolver.
 */
export function workerEntry (moduleUrl: string, name: string): WorkerEntry {
  if (!moduleUrl.endsWith('.ts')) return { url: new URL(`./${name}.js`, moduleUrl) }
  return { url: new URL(`./${name}-boot.mjs`, moduleUrl), execArgv: [`--conditions=${SOURCE_CONDITION}`] }
}

export interface WorkerPoolOptions extends WorkerEntry {
  /** How many worker threads; 0 makes run() refuse (the caller works inline instead). */
  readonly size: number
  /** Names the pool in errors ("verification", "sealing"). */
  readonly name: string
  /** The caller's error for a job that threw in a worker; default a plain Error naming the pool. */
  readonly revive?: (failure: WorkerFailure) => Error
}

interface Pending<Result> {
  readonly worker: number
  resolve (result: Result): void
  reject (err: Error): void
}

interface Answer<Result> {
  /** Set on a worker's first message alone: its modules are loaded. */
  readonly ready?: true
  readonly id: number
  readonly result?: Result
  readonly failure?: WorkerFailure
}

export class WorkerPool<Job, Result> {
  readonly size: number
  private readonly opts: WorkerPoolOptions
  private workers: Worker[] = []
  private readonly pending = new Map<number, Pending<Result>>()
  /** Jobs posted to each worker and not answered yet. */
  private load: number[] = []
  private nextId = 0
  private closed = false
  private readyWorkers = 0
  private stopped = 0

  constructor (opts: WorkerPoolOptions) {
    this.opts = opts
    this.size = Math.max(0, Math.floor(opts.size))
  }

  /** Jobs posted and not answered yet (queued or running), for the node's metrics. */
  get queued (): number { return this.pending.size }

  /** Workers that stopped unasked since the pool was made (each failed the jobs it had). */
  get exits (): number { return this.stopped }

  /** Whether a worker has loaded its modules: a job posted before waits for that (a caller in a hurry works inline meanwhile). */
  get ready (): boolean { return this.readyWorkers > 0 }

  /** Starts the workers now, not on the first job, so they are ready when work comes. */
  warm (): void {
    if (!this.closed && this.size > 0 && this.workers.length === 0) this.start()
  }

  private start (): void {
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(this.opts.url, this.opts.execArgv === undefined ? {} : { execArgv: this.opts.execArgv })
      worker.on('message', (answer: Answer<Result>) => {
        if (answer.ready === true) this.readyWorkers++
        else this.settle(answer)
      })
      worker.on('error', (err) => { this.failAll(err) })
      worker.on('exit', (code) => { this.lost(worker, code) })
      worker.unref()
      this.workers.push(worker)
      this.load.push(0)
    }
  }

  /** A worker stopped: unless the pool is closing, every pending job fails, and the workers start again on the next job. */
  private lost (worker: Worker, code: number): void {
    if (this.closed || !this.workers.includes(worker)) return
    this.stopped++
    const others = this.workers.filter((w) => w !== worker)
    this.workers = []
    this.load = []
    this.readyWorkers = 0
    this.failAll(new Error(`${this.opts.name} worker stopped (exit code ${code})`))
    for (const other of others) void other.terminate()
  }

  private settle (answer: Answer<Result>): void {
    const pending = this.pending.get(answer.id)
    if (pending === undefined) return
    this.pending.delete(answer.id)
    this.load[pending.worker]!--
    this.refWhileBusy()
    if (answer.failure === undefined) pending.resolve(answer.result as Result)
    else pending.reject(this.revive(answer.failure))
  }

  private revive (failure: WorkerFailure): Error {
    return this.opts.revive?.(failure) ?? new Error(`${this.opts.name} worker failed: ${failure.message}`)
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

  /** Runs `job` on the least loaded worker; `transfer` lists buffers to move rather than copy (the caller must not use them after). */
  run (job: Job, transfer: readonly ArrayBuffer[] = []): Promise<Result> {
    if (this.closed) return Promise.reject(new Error(`${this.opts.name} pool closed`))
    if (this.size === 0) return Promise.reject(new Error(`${this.opts.name} pool has no workers`))
    if (this.workers.length === 0) this.start()
    let index = 0
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[index]!) index = i
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: index, resolve, reject })
      this.load[index]!++
      this.refWhileBusy()
      this.workers[index]!.postMessage({ id, job }, transfer as ArrayBuffer[])
    })
  }

  async close (): Promise<void> {
    this.closed = true
    const workers = this.workers
    this.workers = []
    this.readyWorkers = 0
    this.failAll(new Error(`${this.opts.name} pool closed`))
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
