/** A verification worker: runs verifyBlocks on the jobs its pool posts (see verify-pool.ts). */
import { sodiumProvider } from '@healthchain/core/sodium'
import { verifyBlocks, type BlocksJob } from './verify-blocks.js'
import { packVerdict } from './verify-codec.js'
import { serveJobs } from './worker-serve.js'

// The verdict's buffers are transferred, not copied (verify-codec.ts).
serveJobs((job: BlocksJob) => {
  const { message, transfer } = packVerdict(verifyBlocks(job, sodiumProvider))
  return { result: message, transfer }
})
