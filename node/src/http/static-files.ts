/**
 * The web console's built files, looked up for a URL path. Only files
 * inside the console's folder are ever answered: the path is decoded once,
 * split into segments, and refused if any segment could leave the folder or
 * reach a hidden file (`..`, `.`, empty, a dot-file, a backslash, a NUL, a
 * drive letter); the file's real path (symlinks followed) must then still
 * lie inside the folder's real path.
 *
 * Caching: Vite names everything under assets/ by its content's hash, so
 * those are cached for a year and never revalidated; every other file
 * (index.html above all, which names the current hashes) is revalidated on
 * each use with its ETag and Last-Modified.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import { extname, join, sep } from 'node:path'

/** Content types of the files a Vite build writes; anything else is served as bytes (and, with nosniff, never run). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm'
})

export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const REVALIDATE = 'no-cache'

export interface StaticFile {
  /** Absolute, real. */
  readonly path: string
  readonly size: number
  readonly modified: Date
  readonly contentType: string
  readonly cacheControl: string
  /** Weak: size and modification time, enough to tell one build's file from the next. */
  readonly etag: string
}

/**
 * The segments of a URL path (without its query), decoded, or undefined if
 * the path is not one a file inside the folder could have. `/` is [].
 */
export function safeSegments (urlPath: string): string[] | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (!decoded.startsWith('/')) return undefined
  // One trailing slash is a client-side route's; any other empty segment (`//etc`) is refused.
  const trimmed = decoded.length > 1 && decoded.endsWith('/') ? decoded.slice(0, -1) : decoded
  if (trimmed === '/') return []
  const segments = trimmed.slice(1).split('/')
  const unsafe = (s: string): boolean => s === '' || s.startsWith('.') || /[\\\0:]/.test(s)
  return segments.some(unsafe) ? undefined : segments
}

/** The regular file at `segments` under `root`, if there is one inside it; undefined for anything else (a folder, a link out, nothing). */
export async function findStaticFile (root: string, segments: readonly string[]): Promise<StaticFile | undefined> {
  if (segments.length === 0) return undefined
  try {
    const realRoot = await realpath(root)
    const path = await realpath(join(realRoot, ...segments))
    if (!path.startsWith(realRoot + sep)) return undefined
    const info = await stat(path)
    if (!info.isFile()) return undefined
    return {
      path,
      size: info.size,
      modified: info.mtime,
      contentType: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      cacheControl: segments.length > 1 && segments[0] === 'assets' ? IMMUTABLE : REVALIDATE,
      etag: `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`
    }
  } catch {
    return undefined
  }
}

/** Whether a conditional request's copy is still the file's (If-None-Match first, else If-Modified-Since, as RFC 9110 orders them). */
export function notModified (file: StaticFile, headers: { 'if-none-match'?: string | undefined, 'if-modified-since'?: string | undefined }): boolean {
  const match = headers['if-none-match']
  if (match !== undefined) return match.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === file.etag.replace(/^W\//, ''))
  const since = headers['if-modified-since']
  if (since === undefined) return false
  const time = Date.parse(since)
  // HTTP dates have whole seconds.
  return !Number.isNaN(time) && Math.floor(file.modified.getTime() / 1000) * 1000 <= time
}

export async function readStaticFile (file: StaticFile): Promise<Buffer> {
  return await readFile(file.path)
}
