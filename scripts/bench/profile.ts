/**
 * A CPU profile of this process's event loop around one phase of a bench,
 * when the environment asks for it: HEALTHCHAIN_BENCH_PROFILE=<directory>
 * writes <directory>/<name>.cpuprofile (open it in Chrome's DevTools or
 * speedscope). `node --cpu-prof` profiles the whole run, set-up, baselines
 * and all; this profiles only the phase measured.
 */
import { Session } from 'node:inspector/promises'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export async function profiled<T> (name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.HEALTHCHAIN_BENCH_PROFILE
  if (dir === undefined || dir === '') return await fn()
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    const result = await fn()
    const { profile } = await session.post('Profiler.stop')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    return result
  } finally {
    session.disconnect()
  }
}
