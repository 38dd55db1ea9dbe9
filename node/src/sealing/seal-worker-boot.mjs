// Entry of a sealing worker thread run from the sources (the repository):
// registers tsx's loader in this thread, then loads the TypeScript worker.
// Built, the thread runs dist/sealing/seal-worker.js instead (workerEntry).
import { register } from 'tsx/esm/api'

register()
await import('./seal-worker.ts')
