/** A verification worker: runs verifyBlocks on the jobs its pool posts (see verify-pool.ts). */
import { parentPort } from 'node:worker_threads'
import { sodiumProvider } from '@healthchain/core/sodium'
import { verifyBlocks, type BlocksJob } from './verify-blocks.js'

parentPort!.on('message', (message: { id: number, job: BlocksJob }) => {
  try {
    parentPort!.postMessage({ id: message.id, results: verifyBlocks(message.job, sodiumProvider) })
  } catch (err) {
    parentPort!.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) })
  }
})
