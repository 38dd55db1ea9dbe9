// Entry of a sealing worker thread: registers tsx's loader in this thread,
// then loads the TypeScript worker (the project has no build step).
import { register } from 'tsx/esm/api'

register()
await import('./seal-worker.ts')
