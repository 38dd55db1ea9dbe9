// Entry of a verification worker thread run from the sources (the repository):
// registers tsx's loader in this thread, then loads the TypeScript worker.
// Built, the thread runs dist/verify-worker.js instead (workerEntry).
import { register } from 'tsx/esm/api'

register()
await import('./verify-worker.ts')
