/**
 * The query index's writing thread (see index-write-thread.ts): one SQLite
 * connection of its own to the index file, and the same IndexWriter the
 * node's thread uses, so every write keeps its one-transaction-per-batch
 * guarantee. It is sent rows, or stored blocks to decode with the checks
 * every reader makes (decodeBlock); from a block it takes the plain
 * segment's rows only (rows.ts): a sealed segment stays ciphertext, and no
 * key ever reaches this thread.
 *
 * A batch with a hook pauses inside its transaction and waits (Atomics.wait
 * on a shared cell) until the calling thread has run the hook: the hook
 * then sees, and can abort, a transaction that is open, as it does inline.
 */
import type { MessagePort } from 'node:worker_threads'
import { serveJobs } from '@healthchain/ledger/worker-serve'
import { NodeError } from '../errors.js'
import { IndexWriter, rowsOfBlocks, type ChainCursor } from './index-writer.js'
import { unpackBlocks } from './packed-blocks.js'
import { unpackRows } from './packed-rows.js'
import { finishRebuild, openConnection, type Db } from './schema.js'
import type { HookSignal, WriteJob, WriteAnswer } from './index-write-thread.js'

let db: Db | undefined
let writer: IndexWriter | undefined
let hooks: { port: MessagePort, signal: Int32Array } | undefined

function open (): { db: Db, writer: IndexWriter } {
  if (db === undefined || writer === undefined) throw new NodeError('CLOSED', 'the index writing thread has no open index')
  return { db, writer }
}

/** Runs the calling thread's hook for a batch, waiting here with the transaction open; throws if the hook threw. */
function relayHook (batch: { user: string, from: number, to: number }): void {
  if (hooks === undefined) return
  Atomics.store(hooks.signal, 0, 0 satisfies HookSignal)
  hooks.port.postMessage(batch)
  Atomics.wait(hooks.signal, 0, 0)
  if (Atomics.load(hooks.signal, 0) !== (1 satisfies HookSignal)) throw new Error('the batch hook refused the batch')
}

function hook (): typeof relayHook | undefined {
  return hooks === undefined ? undefined : relayHook
}

function handle (job: WriteJob): WriteAnswer {
  switch (job.kind) {
    case 'open':
      db = openConnection(job.path)
      writer = new IndexWriter(db)
      hooks = job.hooks
      return { kind: 'done' }
    case 'cursorFor':
      return { kind: 'cursor', cursor: open().writer.cursorFor(job.user, job.chainKey) satisfies ChainCursor }
    case 'restart':
      return { kind: 'cursor', cursor: open().writer.restart(job.cursor) }
    case 'apply':
      return { kind: 'applied', result: open().writer.applyRows(job.user, job.cursor, job.to, unpackRows(job.rows), hook()) }
    case 'applyBlocks': {
      const rows = rowsOfBlocks(unpackBlocks(job.blocks))
      return { kind: 'applied', result: open().writer.applyRows(job.user, job.cursor, job.to, rows, hook()) }
    }
    case 'finishRebuild':
      finishRebuild(open().db)
      return { kind: 'done' }
    case 'close':
      closeIndex()
      return { kind: 'done' }
  }
}

function closeIndex (): void {
  db?.close()
  db = undefined
  writer = undefined
  hooks?.port.close()
  hooks = undefined
}

serveJobs((job: WriteJob) => ({ result: handle(job) }))
