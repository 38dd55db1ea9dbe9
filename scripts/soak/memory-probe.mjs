// Loaded with `node --import` into each node process the soak run starts
// (scripts/soak.ts): every second it writes the process's memory figures
// (process.memoryUsage) to the file named by HEALTHCHAIN_SOAK_MEMORY_FILE,
// so the soak run can report heap and external memory per node without an
// endpoint in the node itself. Written to a temporary name and renamed, so
// a reader never sees half a file. Does nothing without the variable, and
// nothing in worker threads (the node's sealing and verification workers
// inherit `--import`): their heaps are their own, and the file is the main
// thread's.
import { renameSync, writeFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'

const file = process.env.HEALTHCHAIN_SOAK_MEMORY_FILE
if (isMainThread && file !== undefined && file !== '') {
  const write = () => {
    const m = process.memoryUsage()
    try {
      writeFileSync(file + '.tmp', JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }))
      renameSync(file + '.tmp', file)
    } catch {
      // The soak run's directory is gone: it has ended, and so will this process.
    }
  }
  write()
  setInterval(write, 1000).unref()
}
