/**
 * A thread that writes the SQLite query index while the node's thread
 * reads chains: what a rebuild runs on. Inline, the rebuild's one thread
 * did everything in turn — decoding, SQLite's inserts, and the indexes'
 * sorts at the end. Here the calling thread reads each batch's stored
 * blocks and either sends them as they are (packed-blocks.ts), for the
 * worker (index-write-worker.ts) to decode, or decodes them itself and
 * sends the rows (packed-rows.ts; rows.ts takes plain segments only):
 * whichever thread has the time (applyBlocks). The worker writes them with
 * the cursor in one transaction, on its own connection to the same file,
 * exactly as IndexWriter does inline. Queries keep the calling thread's
 * connection and see each batch once it has committed (WAL: readers never
 * block the writer).
 *
 * Every method answers once the worker has committed, so the caller's
 * cursor is never ahead of the file. The rebuild's lanes (rebuild-loop.ts)
 * keep both threads busy: some wait for their batch to commit while the
 * others read and decode.
 *
 * A BatchHook, given, runs on the calling thread while the worker waits
 * inside the batch's open transaction (index-write-worker.ts): a hook that
 * throws rolls the batch back, and the caller gets the hook's own error.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { CORE_ERROR_CODES, CoreError, type UserId } from '@healthchain/core'
import { WorkerPool, reviveByCode, workerEntry, type PositionedBlock, type WorkerFailure } from '@healthchain/ledger'
import { NodeError, NODE_ERROR_CODES } from '../errors.js'
import { rowsOfBlocks, type BatchHook, type BatchInfo, type BatchResult, type ChainCursor } from './index-writer.js'
import { blocksTransferList, packBlocks, type PackedBlocks } from './packed-blocks.js'
import { packRows, transferListOf, type PackedRows } from './packed-rows.js'

/**
 * Batches the writing thread may have waiting before this thread decodes
 * the next one itself: below it, the writer would soon run dry, so it is
 * sent the blocks to decode; at it, it has inserts enough to do. (3
 * measured no better.)
 */
const DECODE_THERE_BELOW = 2

/** The shared cell a hooked batch waits on: 0 while the hook runs, 1 it passed, 2 it threw. */
export type HookSignal = 0 | 1 | 2

export type WriteJob =
  | { readonly kind: 'open', readonly path: string, readonly hooks?: { readonly port: MessagePort, readonly signal: Int32Array } }
  | { readonly kind: 'cursorFor', readonly user: UserId, readonly chainKey: Uint8Array }
  | { readonly kind: 'restart', readonly cursor: ChainCursor }
  | { readonly kind: 'apply', readonly user: UserId, readonly cursor: ChainCursor, readonly to: number, readonly rows: PackedRows }
  | { readonly kind: 'applyBlocks', readonly user: UserId, readonly cursor: ChainCursor, readonly to: number, readonly blocks: PackedBlocks }
  | { readonly kind: 'finishRebuild' }
  | { readonly kind: 'close' }

export type WriteAnswer =
  | { readonly kind: 'done' }
  | { readonly kind: 'cursor', readonly cursor: ChainCursor }
  | { readonly kind: 'applied', readonly result: BatchResult }

const WORKER = workerEntry(import.meta.url, 'index-write-worker')
const reviveNode = reviveByCode('index writing', NODE_ERROR_CODES, (code, message, opts) => new NodeError(code, message, opts))
const reviveCore = reviveByCode('index writing', CORE_ERROR_CODES, (code, message, opts) => new CoreError(code, message, opts))
/** A block that fails decoding there is refused with the core's error (MALFORMED, …), as it is when decoded here. */
const revive = (failure: WorkerFailure): Error => (CORE_ERROR_CODES as readonly string[]).includes(failure.code ?? '') ? reviveCore(failure) : reviveNode(failure)

export class IndexWriteThread {
  private readonly pool = new WorkerPool<WriteJob, WriteAnswer>({ ...WORKER, size: 1, name: 'index writing', revive })
  private readonly hook: BatchHook | undefined
  /** Batches of blocks decoded on the writing thread, and here. */
  readonly stats = { decodedThere: 0, decodedHere: 0 }
  private hookPort: MessagePort | undefined
  /** Errors the hook threw, by batch (hookKey): that batch's caller gets it rather than the worker's report of it. */
  private readonly hookErrors = new Map<string, unknown>()
  /** Why the thread could not open the index, once known: every later job fails with it. */
  private openFailure: unknown
  /** Set once the thread stopped unasked: a new one would hold no open index, so every later job fails with this. */
  private stopped: NodeError | undefined

  private constructor (hook: BatchHook | undefined) {
    this.hook = hook
  }

  /**
   * Starts a writing thread on the index file at `path` (which the caller
   * has opened and migrated). Jobs can be given at once: they wait in order
   * behind the thread's start, so the caller's reads need not wait for it.
   */
  static start (path: string, hook?: BatchHook): IndexWriteThread {
    const thread = new IndexWriteThread(hook)
    let hooks: { port: MessagePort, signal: Int32Array } | undefined
    const transfer: MessagePort[] = []
    if (hook !== undefined) {
      const channel = new MessageChannel()
      const signal = new Int32Array(new SharedArrayBuffer(4))
      channel.port1.on('message', (batch: BatchInfo) => { thread.runHook(batch, signal) })
      thread.hookPort = channel.port1
      hooks = { port: channel.port2, signal }
      transfer.push(channel.port2)
    }
    thread.run({ kind: 'open', path, ...(hooks === undefined ? {} : { hooks }) }, transfer).catch((err: unknown) => { thread.openFailure = err })
    return thread
  }

  private runHook (batch: BatchInfo, signal: Int32Array): void {
    let verdict: HookSignal = 1
    try {
      this.hook?.(batch)
    } catch (err) {
      this.hookErrors.set(hookKey(batch.user, batch.from), err)
      verdict = 2
    }
    Atomics.store(signal, 0, verdict)
    Atomics.notify(signal, 0)
  }

  private async run (job: WriteJob, transfer: readonly unknown[] = []): Promise<WriteAnswer> {
    if (this.stopped !== undefined) throw this.stopped
    // Only a batch runs the hook; its key names the one error that is its own.
    const key = job.kind === 'apply' || job.kind === 'applyBlocks' ? hookKey(job.user, job.cursor.indexedLength) : undefined
    try {
      return await this.pool.run(job, transfer as ArrayBuffer[])
    } catch (err) {
      if (this.pool.exits > 0) {
        this.stopped ??= new NodeError('INTERNAL', `the index writing thread stopped: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
        throw this.stopped
      }
      const hooked = key === undefined ? undefined : this.hookErrors.get(key)
      if (hooked !== undefined) throw hooked
      throw this.openFailure ?? err
    } finally {
      if (key !== undefined) this.hookErrors.delete(key)
    }
  }

  async cursorFor (user: UserId, chainKey: Uint8Array): Promise<ChainCursor> {
    return cursorOf(await this.run({ kind: 'cursorFor', user, chainKey }))
  }

  async restart (cursor: ChainCursor): Promise<ChainCursor> {
    return cursorOf(await this.run({ kind: 'restart', cursor }))
  }

  /**
   * A batch of stored blocks written with the cursor in one transaction,
   * answered once committed. Decoded where there is time: on the writing
   * thread while it has little waiting, else here (and sent as rows), so
   * that both threads stay busy whatever this machine's balance of reading,
   * decoding and inserting.
   */
  async applyBlocks (user: UserId, cursor: ChainCursor, to: number, blocks: readonly PositionedBlock[]): Promise<BatchResult> {
    let answer: WriteAnswer
    if (this.pool.queued < DECODE_THERE_BELOW) {
      this.stats.decodedThere++
      const packed = packBlocks(blocks)
      answer = await this.run({ kind: 'applyBlocks', user, cursor, to, blocks: packed }, blocksTransferList(packed))
    } else {
      this.stats.decodedHere++
      const packed = packRows(rowsOfBlocks(blocks))
      answer = await this.run({ kind: 'apply', user, cursor, to, rows: packed }, transferListOf(packed))
    }
    if (answer.kind !== 'applied') throw new NodeError('INTERNAL', `the index writing thread answered ${answer.kind} to a batch`)
    return answer.result
  }

  /** Makes the indexes across users, clears the rebuild mark (schema.ts, finishRebuild) and truncates the WAL, on the writing thread. */
  async finishRebuild (): Promise<void> {
    await this.run({ kind: 'finishRebuild' })
  }

  /** Closes the thread's connection and ends the thread. */
  async close (): Promise<void> {
    try {
      await this.run({ kind: 'close' })
    } catch {
      // A thread that failed to start or died has no connection left to close.
    } finally {
      this.hookPort?.close()
      await this.pool.close()
    }
  }
}

function hookKey (user: string, from: number): string {
  return `${user} ${from}`
}

function cursorOf (answer: WriteAnswer): ChainCursor {
  if (answer.kind !== 'cursor') throw new NodeError('INTERNAL', `the index writing thread answered ${answer.kind} for a cursor`)
  return answer.cursor
}
