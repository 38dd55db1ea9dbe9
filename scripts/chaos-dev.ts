/**
 * The dev network (`healthchain dev`) as a child process the chaos run can
 * SIGKILL and start again: `start()` spawns `node node/bin/healthchain.mjs
 * dev` and resolves once this very process has written `<dir>/dev.json` and
 * printed its ready line (a dev.json left by a killed run names a dead pid
 * and is ignored); `kill()` is SIGKILL, `stop()` SIGTERM (the clean stop)
 * with SIGKILL after a grace period. The child's output is kept (the last
 * lines) to explain a start that failed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readDevManifest, type DevManifest } from '@healthchain/node/cli'

const BIN = fileURLToPath(new URL('../node/bin/healthchain.mjs', import.meta.url))
const READY_LINE = 'healthchain dev network ready'
const OUTPUT_LINES_KEPT = 200
const POLL_MS = 100

export interface DevProcessInit {
  readonly dir: string
  readonly basePort: number
  /** How long a start may take before it is given up (ms). */
  readonly readyTimeoutMs: number
  /** How long the clean stop may take before SIGKILL (ms). */
  readonly stopTimeoutMs: number
}

export class DevStartError extends Error {
  override readonly name = 'DevStartError'
}

export class DevProcess {
  private readonly init: DevProcessInit
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private lines: string[] = []
  private partial = ''

  constructor (init: DevProcessInit) {
    this.init = init
  }

  /** The process id of the running child, if any. */
  get pid (): number | undefined { return this.running ? this.child?.pid : undefined }

  get running (): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** The child's last lines of output (stdout and stderr). */
  outputTail (lines = 30): string { return this.lines.slice(-lines).join('\n') }

  /** Spawns the network (`fresh`: recreated from nothing) and waits for it to be ready; DevStartError with its output if it is not. */
  async start (fresh: boolean): Promise<DevManifest> {
    if (this.running) throw new DevStartError('the dev network is already running')
    const args = [BIN, 'dev', '--dir', this.init.dir, '--base-port', String(this.init.basePort), ...(fresh ? ['--fresh'] : [])]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.lines = []
    let ready = false
    const take = (data: Buffer): void => {
      const text = this.partial + data.toString('utf8')
      const parts = text.split('\n')
      this.partial = parts.pop() ?? ''
      for (const line of parts) {
        if (line.includes(READY_LINE)) ready = true
        this.lines.push(line)
      }
      if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.splice(0, this.lines.length - OUTPUT_LINES_KEPT)
    }
    child.stdout!.on('data', take)
    child.stderr!.on('data', take)
    this.exited = new Promise((resolve) => { child.once('close', () => { resolve() }) })
    child.once('error', () => {}) // a failed spawn shows as an exit below

    const deadline = Date.now() + this.init.readyTimeoutMs
    for (;;) {
      if (!this.running) {
        await this.exited
        throw new DevStartError(`healthchain dev exited before it was ready (${child.exitCode ?? child.signalCode ?? 'spawn failed'}):\n${this.outputTail()}`)
      }
      if (ready) {
        const manifest = await readDevManifest(this.init.dir).catch(() => undefined)
        if (manifest !== undefined && manifest.pid === child.pid) return manifest
      }
      if (Date.now() > deadline) {
        await this.kill()
        throw new DevStartError(`healthchain dev was not ready after ${this.init.readyTimeoutMs / 1000} s:\n${this.outputTail()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  }

  /** SIGKILL, and waits until the process is gone. */
  async kill (): Promise<void> {
    if (this.running) this.child!.kill('SIGKILL')
    await this.exited
  }

  /** The clean stop (SIGTERM); SIGKILL if it takes longer than the grace period. True if it stopped cleanly. */
  async stop (): Promise<boolean> {
    if (!this.running) return true
    this.child!.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const clean = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, this.init.stopTimeoutMs) })
    ])
    clearTimeout(timer)
    if (!clean) await this.kill()
    return clean && this.child!.exitCode === 0
  }

  /** For exit handlers, which cannot wait: SIGKILL and return. */
  killNow (): void {
    if (this.running) this.child!.kill('SIGKILL')
  }
}
