// Entry of a verification worker thread: registers tsx's loader in this
// thread, then loads the TypeScript worker (the project has no build step).
import { register } from 'tsx/esm/api'

register()
await import('./verify-worker.ts')
