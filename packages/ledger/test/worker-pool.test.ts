/**
 * A pool whose worker stops unasked (out of memory, a crash in native code)
 * fails the jobs that worker had instead of leaving them waiting forever,
 * and serves the next job on a fresh worker. A real worker thread, whose
 * source is given inline.
 */
import { describe, expect, it } from 'vitest'
import { WorkerPool } from '../src/index.js'

/** Doubles a number; the job 'stop' ends the thread at once, as a crash would. */
const SOURCE = `
import { parentPort } from 'node:worker_threads'
parentPort.on('message', ({ id, job }) => {
  if (job === 'stop') process.exit(3)
  parentPort.postMessage({ id, result: job * 2 })
})
parentPort.postMessage({ ready: true })
`

describe('a worker that stops unasked', () => {
  it('fails its pending jobs with an error naming the pool and the exit code; the next job runs on a fresh worker', async () => {
    const pool = new WorkerPool<number | 'stop', number>({ url: new URL(`data:text/javascript,${encodeURIComponent(SOURCE)}`), size: 1, name: 'doubling' })
    try {
      expect(await pool.run(21)).toBe(42)
      const stopping = pool.run('stop')
      const behind = pool.run(5)
      await expect(stopping).rejects.toThrow('doubling worker stopped (exit code 3)')
      await expect(behind).rejects.toThrow('doubling worker stopped (exit code 3)')
      expect(pool.exits).toBe(1)
      expect(pool.queued).toBe(0)
      expect(await pool.run(4)).toBe(8)
    } finally {
      await pool.close()
    }
  })
})
