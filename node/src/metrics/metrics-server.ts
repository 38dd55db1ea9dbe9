/**
 * The metrics listener: GET /metrics (Prometheus text format) on its own
 * address (config `metrics: { host, port }`), never on the API's.
 *
 * Why apart from the API: the API may face the institution's network (staff,
 * hospital systems), while metrics are for the operator's scraper. On a
 * separate port, bound to loopback by default, who reads them is decided by
 * the bind address and the firewall, with no token to hand out or leak. The
 * series hold no health data, user ids or keys (node-metrics.ts), so a
 * network-wide bind (`0.0.0.0`, for a scraper in another container) exposes
 * counts only.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NodeMetrics } from './node-metrics.js'

export class MetricsServer {
  private readonly server: Server
  private readonly host: string

  private constructor (server: Server, host: string) {
    this.server = server
    this.host = host
  }

  /** Listens on `host:port` (0: any free port); rejects with the listen error (EADDRINUSE…). */
  static async listen (metrics: NodeMetrics, address: { host: string, port: number }): Promise<MetricsServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0]
      if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
        response.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' }).end(path === '/metrics' ? 'GET only\n' : 'not found: GET /metrics\n')
        return
      }
      metrics.render().then(({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body)
      }, () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n')
      })
    })
    // A scraper keeps its connection open between scrapes; it must not hold the stop.
    server.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(address.port, address.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return new MetricsServer(server, address.host)
  }

  /** The URL of /metrics (the port actually bound). */
  get url (): string {
    const { port } = this.server.address() as AddressInfo
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
  }
}
