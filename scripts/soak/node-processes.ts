/**
 * The soak run's nodes, each its own process, so that each node's memory is
 * its own: the dev network is set up once (`healthchain dev --fresh`,
 * started until ready and stopped cleanly), then each of its four nodes is
 * started from its config.json with `healthchain start --config`, in the
 * dev network's order (hospital-a hosts the registry, the others bootstrap
 * from it). Each process carries the memory probe (memory-probe.mjs) and
 * `--heapsnapshot-signal=SIGUSR2` (a snapshot is written into the node's
 * soak directory when asked for).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEV_NODES, devPaths, devPorts, DEV_HOST } from '@healthchain/node/cli'
import { DevProcess } from '../chaos-dev.js'
import { memoryMapOf, type MemoryMap } from './memory-map.js'

const BIN = fileURLToPath(new URL('../../node/bin/healthchain.mjs', import.meta.url))
const PROBE = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url))
const READY_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 30_000
const LINES_KEPT = 100

export interface MemorySample {
  /** Resident set size from /proc/<pid>/status (VmRSS), bytes. */
  readonly rss: number
  /** From the probe: V8 heap in use and committed, and memory of C++ objects bound to JS (external, array buffers included), bytes. */
  readonly heapUsed: number | null
  readonly heapTotal: number | null
  readonly external: number | null
  /** Where the resident memory is (memory-map.ts); null if /proc/<pid>/smaps could not be read. */
  readonly map: MemoryMap | null
}

export class SoakNode {
  readonly name: string
  readonly role: string
  readonly api: string
  readonly apiKey: string
  private readonly child: ChildProcess
  private readonly memoryFile: string
  readonly snapshotDir: string
  private readonly lines: string[] = []
  private readonly exited: Promise<void>

  constructor (init: { name: string, role: string, api: string, apiKey: string, child: ChildProcess, memoryFile: string, snapshotDir: string }) {
    this.name = init.name
    this.role = init.role
    this.api = init.api
    this.apiKey = init.apiKey
    this.child = init.child
    this.memoryFile = init.memoryFile
    this.snapshotDir = init.snapshotDir
    this.exited = new Promise((resolve) => { init.child.once('close', () => { resolve() }) })
    let partial = ''
    const take = (data: Buffer): void => {
      const parts = (partial + data.toString('utf8')).split('\n')
      partial = parts.pop() ?? ''
      this.lines.push(...parts)
      if (this.lines.length > LINES_KEPT) this.lines.splice(0, this.lines.length - LINES_KEPT)
    }
    init.child.stdout!.on('data', take)
    init.child.stderr!.on('data', take)
  }

  get pid (): number { return this.child.pid! }
  get running (): boolean { return this.child.exitCode === null && this.child.signalCode === null }
  outputTail (n = 20): string { return this.lines.slice(-n).join('\n') }
  hasLine (part: string): boolean { return this.lines.some((l) => l.includes(part)) }

  /**
   * RSS now (from /proc), heap and external from the probe's last write (at most a second old); null if the process is gone.
   * With `withMap`, also where the resident memory is (reading smaps costs a few milliseconds of the node's kernel time).
   */
  sample (withMap: boolean): MemorySample | null {
    let rss: number
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
      if (kb === undefined) return null
      rss = Number(kb) * 1024
    } catch {
      return null
    }
    const map = withMap ? memoryMapOf(this.pid) : null
    try {
      const probe = JSON.parse(readFileSync(this.memoryFile, 'utf8')) as { heapUsed: number, heapTotal: number, external: number }
      return { rss, heapUsed: probe.heapUsed, heapTotal: probe.heapTotal, external: probe.external, map }
    } catch {
      return { rss, heapUsed: null, heapTotal: null, external: null, map }
    }
  }

  /**
   * Asks for a heap snapshot (written into snapshotDir as Heap.<date>.<pid>…heapsnapshot; the node pauses while it writes)
   * and waits until the file is complete: there is no signal for that, so until a new file's size stays the same for a few
   * seconds. Returns its path, or undefined if none came within the timeout.
   */
  async heapSnapshot (timeoutMs = 10 * 60_000): Promise<string | undefined> {
    if (!this.running) return undefined
    const before = new Set(await this.snapshots())
    this.child.kill('SIGUSR2')
    const deadline = Date.now() + timeoutMs
    let last = -1
    let steady = 0
    while (Date.now() < deadline && this.running) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const file = (await this.snapshots()).find((f) => !before.has(f))
      if (file === undefined) continue
      const size = (await stat(file)).size
      steady = size === last ? steady + 1 : 0
      last = size
      if (steady >= 3) return file
    }
    return undefined
  }

  private async snapshots (): Promise<string[]> {
    return (await readdir(this.snapshotDir)).filter((f) => f.endsWith('.heapsnapshot')).map((f) => join(this.snapshotDir, f))
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, STOP_TIMEOUT_MS) })])
    clearTimeout(timer)
    if (this.running) this.child.kill('SIGKILL')
    await this.exited
  }

  killNow (): void { if (this.running) this.child.kill('SIGKILL') }
}

/** Sets up a fresh dev network in `dir` (its one-time set-up, then a clean stop). */
export async function setUpDevNetwork (dir: string, basePort: number): Promise<void> {
  const dev = new DevProcess({ dir, basePort, readyTimeoutMs: READY_TIMEOUT_MS, stopTimeoutMs: STOP_TIMEOUT_MS })
  try {
    await dev.start(true)
  } finally {
    await dev.stop()
  }
}

/** Starts the dev network's nodes in `dir`, one process each (`nodeEnv` added to their environment), in order, each once it printed its ready line. */
export async function startNodes (
  dir: string, basePort: number, nodeArgs: readonly string[], nodeEnv: Readonly<Record<string, string>>, progress: (line: string) => void
): Promise<SoakNode[]> {
  const paths = devPaths(dir)
  const state = JSON.parse(await readFile(join(dir, 'network.json'), 'utf8')) as { nodes: Array<{ name: string, apiKey: string }> }
  const nodes: SoakNode[] = []
  try {
    for (const [i, spec] of DEV_NODES.entries()) {
      const apiKey = state.nodes.find((n) => n.name === spec.name)?.apiKey
      if (apiKey === undefined) throw new Error(`${paths.state} names no API key for ${spec.name}`)
      const snapshotDir = join(dir, 'soak', spec.name)
      await mkdir(snapshotDir, { recursive: true })
      const memoryFile = join(snapshotDir, 'memory.json')
      const child = spawn(process.execPath, [
        '--heapsnapshot-signal=SIGUSR2', '--import', PROBE, ...nodeArgs, BIN, 'start', '--config', paths.configFile(spec.name)
      ], { cwd: snapshotDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...nodeEnv, HEALTHCHAIN_SOAK_MEMORY_FILE: memoryFile } })
      const node = new SoakNode({
        name: spec.name, role: spec.role, api: `http://${DEV_HOST}:${devPorts(basePort, i).api}`, apiKey, child, memoryFile, snapshotDir
      })
      nodes.push(node)
      const deadline = Date.now() + READY_TIMEOUT_MS
      while (!node.hasLine('ready: ')) {
        if (!node.running) throw new Error(`${spec.name} exited before it was ready:\n${node.outputTail()}`)
        if (Date.now() > deadline) throw new Error(`${spec.name} was not ready after ${READY_TIMEOUT_MS / 1000} s:\n${node.outputTail()}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      progress(`started ${spec.name.padEnd(10)} pid ${node.pid}  api ${node.api}`)
    }
  } catch (err) {
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    throw err
  }
  return nodes
}
