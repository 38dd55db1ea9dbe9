// Entry of the query index's writing thread run from the sources (the repository):
// registers tsx's loader in this thread, then loads the TypeScript worker.
// Built, the thread runs dist/query-index/index-write-worker.js instead (workerEntry).
import { register } from 'tsx/esm/api'

register()
await import('./index-write-worker.ts')
