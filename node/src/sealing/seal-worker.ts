/** A sealing worker: seals the exams its pool posts (see exam-sealer.ts). The data key never leaves this thread. */
import { seal } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { serveJobs } from '@healthchain/ledger/worker-serve'
import type { SealJob } from './exam-sealer.js'

serveJobs((job: SealJob) => ({ result: seal(job.payload, job.recipients, job.ctx, sodiumProvider).sealed }))
