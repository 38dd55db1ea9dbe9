/**
 * Requests from another source address. Every test client is 127.0.0.1,
 * which per-source limits and the audit log's grouping see as one source;
 * Linux routes all of 127.0.0.0/8 to loopback, so binding the client's end
 * to 127.0.0.2 makes a second source on the same machine.
 */
import { request } from 'node:http'

export interface FromReply {
  readonly status: number
  readonly body: any
  readonly headers: Record<string, string | string[] | undefined>
}

/** A JSON request to `url + path`, its connection bound to `localAddress` (e.g. 127.0.0.2). */
export async function callFrom (localAddress: string, url: string, method: string, path: string, body?: unknown): Promise<FromReply> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = request(url + path, {
      method,
      localAddress,
      agent: false,
      headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = raw
        try { parsed = JSON.parse(raw) } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(text)
  })
}
