/** A verification worker: runs verifyBlocks on the jobs its pool posts (see verify-pool.ts). */
import { parentPort } from 'node:worker_threads'
import { sodiumProvider } from '@healthchain/core/sodium'
import { verifyBlocks, type BlocksJob } from './verify-blocks.js'
import { packVerdict } from './verify-codec.js'

parentPort!.on('message', (message: { id: number, job: BlocksJob }) => {
  try {
    // The verdict's buffers are transferred, not copied (verify-codec.ts).
    const { message: verdict, transfer } = packVerdict(verifyBlocks(message.job, sodiumProvider))
    parentPort!.postMessage({ id: message.id, verdict }, transfer)
  } catch (err) {
    parentPort!.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) })
  }
})
