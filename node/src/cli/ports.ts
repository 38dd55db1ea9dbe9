/**
 * Ports a node listens on, checked before anything starts so a taken port
 * is one clear error naming it (PORT_IN_USE) rather than a half-started
 * network; and the same error recognised when a listen fails anyway (the
 * port was taken between the check and the start).
 */
import { createServer } from 'node:net'
import type { NodeConfig } from '../config.js'
import { Daemon, type DaemonOptions } from '../daemon.js'
import { CliError, findCause } from './errors.js'

export interface PortUse {
  readonly port: number
  /** What would listen there, e.g. "hospital-a's API". */
  readonly what: string
}

/** Resolves when `port` can be bound on `host`; PORT_IN_USE (naming it) when it cannot. */
export async function assertPortFree (use: PortUse, host: string, hint: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES'
        ? portInUse(use, hint, err)
        : new CliError('PORT_IN_USE', `port ${use.port} (${use.what}) cannot be bound on ${host}: ${err.code ?? err.message}`, { cause: err }))
    })
    server.listen({ port: use.port, host, exclusive: true }, () => { server.close(() => { resolve() }) })
  })
}

export async function assertPortsFree (uses: readonly PortUse[], host: string, hint: string): Promise<void> {
  for (const use of uses) await assertPortFree(use, host, hint)
}

export function portInUse (use: PortUse, hint: string, cause?: unknown): CliError {
  return new CliError('PORT_IN_USE', `port ${use.port} (${use.what}) is already in use; ${hint}`, { cause })
}

/** The port of an EADDRINUSE anywhere in an error's causes, or undefined (the port is -1 when the error does not say). */
export function addressInUse (err: unknown): number | undefined {
  return findCause(err, (e) => {
    const errno = e as NodeJS.ErrnoException & { port?: unknown }
    if (errno.code === 'EADDRINUSE') return typeof errno.port === 'number' ? errno.port : -1
    if (e instanceof Error && /EADDRINUSE/.test(e.message)) return Number(/:(\d+)\b/.exec(e.message)?.[1] ?? -1)
    return undefined
  })
}

/**
 * Starts a daemon; a listen that fails because a port is taken becomes what
 * `inUse` makes of the port (-1 when the error does not say which).
 */
export async function startDaemonOrPortError (config: NodeConfig, inUse: (port: number, cause: unknown) => Error, opts: DaemonOptions = {}): Promise<Daemon> {
  try {
    return await Daemon.start(config, opts)
  } catch (err) {
    const port = addressInUse(err)
    if (port === undefined) throw err
    throw inUse(port, err)
  }
}
