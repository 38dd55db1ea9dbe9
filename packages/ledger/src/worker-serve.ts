/**
 * The worker side of a WorkerPool (worker-pool.ts): says it is ready (its
 * modules loaded: `{ ready: true }`), then answers every job its pool posts
 * with `handle`'s result, or with the error it threw as a WorkerFailure (its
 * name, message, and `code`/`field` when it is a healthchain error, so the
 * pool can rebuild it by code).
 */
import { parentPort } from 'node:worker_threads'
import { isHealthchainError } from '@healthchain/core'
import type { WorkerFailure } from './worker-pool.js'

export interface Handled<Result> {
  readonly result: Result
  /** Buffers of `result` to move rather than copy. */
  readonly transfer?: readonly ArrayBuffer[]
}

export function serveJobs<Job, Result> (handle: (job: Job) => Handled<Result>): void {
  const port = parentPort
  if (port === null) throw new Error('serveJobs runs in a worker thread only')
  port.on('message', (message: { id: number, job: Job }) => {
    let handled: Handled<Result>
    try {
      handled = handle(message.job)
    } catch (err) {
      port.postMessage({ id: message.id, failure: failureOf(err) })
      return
    }
    port.postMessage({ id: message.id, result: handled.result }, (handled.transfer ?? []) as ArrayBuffer[])
  })
  port.postMessage({ ready: true })
}

function failureOf (err: unknown): WorkerFailure {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  if (!isHealthchainError(err)) return { name: err.name, message: err.message }
  return { name: err.name, message: err.message, code: err.code, ...(err.field === undefined ? {} : { field: err.field }) }
}
