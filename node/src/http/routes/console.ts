/**
 * The web console, served at `/` on the API's own origin (so the page's
 * Content-Security-Policy can allow `'self'` and nothing else):
 *
 *   GET|HEAD /                 index.html
 *   GET|HEAD /<file>           a file of the console's build (assets/*, manifest.webmanifest, icon.svg, …)
 *   GET|HEAD /<route>          index.html: a client-side route (a last segment without a dot)
 *
 * Never the console: anything under /v1/ (an unknown API path stays the
 * API's JSON 404) and /metrics. A path that could leave the folder is 404;
 * so is a missing file whose name has an extension (a script or an image
 * that is not there must not come back as HTML). Without a build (no
 * index.html in the folder) every console path is 503 CONSOLE_NOT_BUILT.
 * No login and no audit line: these files hold no one's data.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { NodeError } from '../../errors.js'
import { handleNotFound } from '../errors.js'
import { findStaticFile, notModified, readStaticFile, safeSegments, type StaticFile } from '../static-files.js'
import type { App } from '../types.js'

export interface ConsoleRoutesDeps {
  /** Absolute: the folder of the console's build (config `console.dir`). */
  readonly dir: string
}

/** Paths that belong to the API (or metrics) whatever comes after them. */
const NOT_CONSOLE = /^\/(?:v1|metrics)(?:[/?#]|$)/

export function registerConsoleRoutes (app: App, deps: ConsoleRoutesDeps): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    schema: { hide: true },
    handler: async (request, reply) => await serve(request, reply, deps.dir)
  })
}

async function serve (request: FastifyRequest, reply: FastifyReply, dir: string): Promise<FastifyReply> {
  const url = request.raw.url ?? '/'
  const path = url.split('?', 1)[0]!
  if (NOT_CONSOLE.test(path)) return handleNotFound(request, reply)
  const segments = safeSegments(path)
  if (segments === undefined) return handleNotFound(request, reply)
  const index = await findStaticFile(dir, ['index.html'])
  if (index === undefined) throw new NodeError('CONSOLE_NOT_BUILT', `no index.html in ${dir}`)
  const file = await findStaticFile(dir, segments)
  if (file !== undefined) return await send(request, reply, file)
  const last = segments[segments.length - 1]
  if (last !== undefined && last.includes('.')) return handleNotFound(request, reply)
  return await send(request, reply, index)
}

async function send (request: FastifyRequest, reply: FastifyReply, file: StaticFile): Promise<FastifyReply> {
  void reply.header('cache-control', file.cacheControl).header('etag', file.etag).header('last-modified', file.modified.toUTCString())
  if (notModified(file, request.headers)) return await reply.code(304).send()
  void reply.type(file.contentType)
  if (request.method === 'HEAD') return await reply.header('content-length', String(file.size)).send()
  return await reply.send(await readStaticFile(file))
}
