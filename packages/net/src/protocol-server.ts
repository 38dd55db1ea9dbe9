/**
 * The server side every one-request-per-stream protocol shares (append
 * forwarding, my-chain): registers the handler, keeps the requests under
 * way so `stop()` can wait for them, and gives each read or write a signal
 * that ends at the service's time limit or when it stops.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { NetError } from './errors.js'
import type { BaseHost } from './host.js'

export class ProtocolServer {
  private readonly host: BaseHost
  private readonly protocol: string
  private readonly name: string
  private readonly ioTimeoutMs: number
  private readonly controller = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()
  private started = false

  constructor (host: BaseHost, protocol: string, opts: { name: string, ioTimeoutMs: number }) {
    this.host = host
    this.protocol = protocol
    this.name = opts.name
    this.ioTimeoutMs = opts.ioTimeoutMs
  }

  /** Whether the service has stopped (a request arriving now is cut). */
  get stopped (): boolean { return this.controller.signal.aborted }

  /** Handles every stream of the protocol with `serve`; a serve that throws aborts its stream. */
  async start (serve: (stream: Stream, connection: Connection) => Promise<void>): Promise<void> {
    await this.host.handle(this.protocol, (stream, connection) => {
      const serving = serve(stream, connection).catch(() => { stream.abort(new Error(`${this.name} request failed`)) })
      this.inFlight.add(serving)
      void serving.finally(() => this.inFlight.delete(serving))
    })
    this.started = true
  }

  /** For one read or write: ends at the time limit, or when the service stops. */
  ioSignal (): AbortSignal {
    return AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.ioTimeoutMs)])
  }

  /** Stops taking requests, cuts pending reads and writes, and waits for the requests under way. */
  async stop (): Promise<void> {
    if (this.started) await this.host.unhandle(this.protocol).catch(() => {})
    this.started = false
    this.controller.abort(new NetError('STOPPED', `the ${this.name} service stopped`))
    await Promise.allSettled([...this.inFlight])
  }
}
