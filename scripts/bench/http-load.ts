/**
 * The HTTP bench's load generator, in a child process of its own: the
 * bench reads the server's CPU time from its own process (process.cpuUsage),
 * and autocannon in a worker thread of that process (as before) was counted
 * in it — about a fifth of the figure, and a share of the two cores taken
 * from the server it measures without being seen. In a child process its
 * CPU is its own: the server's figures are the server's, and the machine's
 * load average shows both.
 *
 *   runLoad(spec) → forks this file (tsx), sends the spec, gets the
 *   figures back. Requests go round robin over `spec.requests` (a path and
 *   a body each), across all connections.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

export interface LoadSpec {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly token: string
  readonly contentType: string
  readonly requests: ReadonlyArray<{ readonly path: string, readonly body: string }>
}

export interface LoadResult {
  readonly duration: number
  /** Answers by status code. */
  readonly statuses: Readonly<Record<string, number>>
  readonly latencyMs: { readonly p50: number, readonly p90: number, readonly p99: number, readonly max: number }
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
}

const CHILD_FLAG = '--http-load-child'

/** Runs `spec` from a child process; resolves with its figures. */
export async function runLoad (spec: LoadSpec): Promise<LoadResult> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return await new Promise<LoadResult>((resolve, reject) => {
    let result: LoadResult | undefined
    child.once('message', (message) => { result = message as LoadResult })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (result !== undefined) resolve(result)
      else reject(new Error(`the load generator exited with code ${String(code)} and no figures`))
    })
    child.send(spec)
  })
}

async function generate (spec: LoadSpec): Promise<LoadResult> {
  let next = 0
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${spec.token}`, 'content-type': spec.contentType },
    requests: [{
      setupRequest: (request) => {
        const { path, body } = spec.requests[next++ % spec.requests.length]!
        return { ...request, path, body }
      }
    }]
  })
  const statuses: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0
  return {
    duration: result.duration,
    statuses,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx
  }
}

if (process.argv.includes(CHILD_FLAG)) {
  process.once('message', (spec) => {
    generate(spec as LoadSpec).then((result) => {
      process.send?.(result, () => { process.disconnect() })
    }, (err: unknown) => {
      console.error(err)
      process.exitCode = 1
      process.disconnect()
    })
  })
}
