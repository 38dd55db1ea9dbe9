/**
 * The daemon's JSON log: one object per line (pino, which Fastify carries),
 * with `level` (pino's number), `time` (epoch ms), `node` (the institution
 * id), `event` (what happened: start, stop, request, request-failed,
 * audit-error, log), `msg`, and for requests `reqId`, `method`, `route` (the
 * pattern, never the URL), `status`, `durationMs` and a refusal's `code`.
 *
 * Never in a line: bodies, headers (Authorization), URLs (they carry user
 * ids), tokens, API keys, phrases, key material, health data. Fastify's own
 * request lines (which log the URL) are off (http/server.ts); the redaction
 * below is a second fence for a field logged by mistake, not the first.
 */
import type { FastifyServerOptions } from 'fastify'
import type { LogLevel } from '../config.js'

/** Somewhere to write lines: stdout, a file stream, or a test's capture. */
export interface LogDestination {
  write (line: string): unknown
}

export interface NodeLogInit {
  readonly node: string
  readonly level: LogLevel
  readonly destination: LogDestination
}

/** Field names whose value is replaced by `[redacted]` wherever they appear one or two levels deep. */
const SECRET_FIELDS = ['authorization', 'apiKey', 'token', 'phrase', 'secretKey', 'password', 'body', 'headers']

export function nodeLoggerOptions (init: NodeLogInit): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: init.level,
    stream: init.destination,
    base: { node: init.node },
    // Every line names its event; a line logged without one (a library's) is a plain `log`.
    mixin: () => ({ event: 'log' }),
    // pino lets the mixin win over the line's own fields by default: the line's `event` must win.
    mixinMergeStrategy: (fields: object, mixin: object) => ({ ...mixin, ...fields }),
    redact: { paths: SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]), censor: '[redacted]' }
  }
}
