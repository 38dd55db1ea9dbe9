/**
 * Every error leaves the API as `{ "error": { "code", "message", "field"? } }`
 * with a fitting status. One table maps codes to statuses; Fastify's own
 * errors (body parsing, limits, content types) are translated to our codes
 * first. Anything unexpected is 500 INTERNAL with a fixed message: the
 * details (and stack) go to the server's log, never to the client.
 *
 * The ledger's, core's and the network's errors reach the API too, through
 * the routes' dependencies: DOMAIN_STATUS gives every code of their unions
 * a status, and the compiler refuses a code without one.
 */
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { CoreError } from '@healthchain/core'
import { LedgerError, type LedgerErrorCode } from '@healthchain/ledger'
import { NetError, type NetErrorCode, type ProtocolRefusalCode } from '@healthchain/net'
import { errorBodySchema, type ErrorBody } from '../api/common.js'
import { NodeError, type NodeErrorCode } from '../errors.js'
import { auditContextOf } from './request-context.js'
import { applySecurityHeaders, securityHeaderLines } from './security-headers.js'

export const STATUS_OF: Readonly<Record<NodeErrorCode, number>> = {
  CONFIG_FILE: 500,
  CONFIG_MALFORMED: 500,
  CONFIG_INVALID: 500,
  DATA_FILE: 500,
  INDEX_DATABASE: 503,
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  MALFORMED_REQUEST: 400,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  MALFORMED_KEY: 401,
  UNKNOWN_KEY: 401,
  REVOKED_KEY: 401,
  KEY_ROLE_MISMATCH: 401,
  UNKNOWN_USER: 401,
  LOGIN_REFUSED: 401,
  UNKNOWN_CHALLENGE: 401,
  MISSING_TOKEN: 401,
  MALFORMED_TOKEN: 401,
  UNKNOWN_TOKEN: 401,
  EXPIRED_TOKEN: 401,
  FORBIDDEN: 403,
  BAD_AUDIT_LINE: 500,
  CLOSED: 503,
  FHIR_INVALID: 422,
  FHIR_UNSUPPORTED: 422,
  UNKNOWN_TICKET: 404,
  TICKET_TAKEN: 409,
  TOO_MANY_TICKETS: 429,
  CONSOLE_NOT_BUILT: 503,
  RATE_LIMITED: 429,
  // backup and restore run in the CLI, not behind the API; mapped for completeness
  BACKUP_INVALID: 422,
  BACKUP_VERSION: 422,
  RESTORE_TARGET: 409,
  BACKUP_BUSY: 409,
  INTERNAL: 500
}

/** Refusals of a bearer token: answered with a `WWW-Authenticate` challenge (RFC 6750). */
const TOKEN_CODES: ReadonlySet<NodeErrorCode> = new Set(['MISSING_TOKEN', 'MALFORMED_TOKEN', 'UNKNOWN_TOKEN', 'EXPIRED_TOKEN', 'REVOKED_KEY'])

// The error body is part of the API contract (api/common.ts), which clients parse too.
export { errorBodySchema, type ErrorBody }

export interface HttpError {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly field?: string
}

/** Fastify's own error codes, as ours. */
const FASTIFY_CODES: Readonly<Record<string, { code: NodeErrorCode, message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', message: 'the body is empty, but its content type says JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is larger than this node accepts' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_REQUEST', message: 'the body\'s size does not match its Content-Length' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' },
  FST_ERR_VALIDATION: { code: 'BAD_REQUEST', message: 'the request does not fit the route\'s schema' }
}

const INTERNAL: HttpError = { status: 500, code: 'INTERNAL', message: 'internal error' }

/** What a caller of the console is told when its files are missing (the folder it looked in stays in the log). */
export const CONSOLE_NOT_BUILT_MESSAGE = 'the web console is not built on this node: run npm run build:console, then reload'

/** Every code a CoreError, LedgerError or NetError carries, and every code a remote node may refuse with. */
export type DomainErrorCode = LedgerErrorCode | NetErrorCode | ProtocolRefusalCode

/**
 * The status of every code of the ledger, core and network errors a route
 * lets through (LedgerErrorCode includes core's), and of every code a
 * custodian may refuse a forwarded entry with: the code itself is passed
 * on unchanged (it is stable), with the error's message (which by contract
 * carries no health data or keys). A code shared with NodeError (CLOSED,
 * FORBIDDEN, INTERNAL) has the same status in both tables.
 *
 * 500 means "our own bug or our own files": answered as INTERNAL, the
 * details kept in the server's log. 502 is a peer that failed us (its
 * data does not verify, its stream broke, it refused for a reason of its
 * own); 503 a state that passes (closing, locked, not replicated yet, no
 * quorum); 504 a peer that did not answer in time.
 */
export const DOMAIN_STATUS = {
  // the request's content
  MALFORMED: 422,
  INVALID_FIELD: 422,
  UNSUPPORTED_VERSION: 422,
  TOO_LARGE: 413,
  BAD_SIGNATURE: 422,
  BAD_GENESIS: 422,
  BAD_MNEMONIC: 422,
  NOT_RECIPIENT: 422,
  DECRYPT_FAILED: 422,
  BAD_ERASURE: 422,
  UNKNOWN_TYPE: 422,
  BAD_KEY: 422,
  NOT_A_FORK: 422,
  BAD_PROOF: 422,
  // who may do it
  ROLE_FORBIDDEN: 403,
  FORBIDDEN: 403,
  AUTHOR_SUSPENDED: 403,
  UNKNOWN_AUTHOR: 403,
  CONSENT_VIOLATION: 403,
  NOT_ADMITTED: 403,
  // the state of the chain
  UNKNOWN_CHAIN: 404,
  ALREADY_ENROLLED: 409,
  DUPLICATE_ENTRY: 409,
  STALE_POSITION: 409,
  NOT_CUSTODIAN: 409,
  REGISTRY_CONFLICT: 409,
  REGISTRY_BEHIND: 503,
  NO_HEAD: 503,
  MISSING_BLOCK: 503,
  BAD_REGISTRY: 503,
  // a peer's data or answer that does not hold up
  TREE_MISMATCH: 502,
  STREAM_ENDED: 502,
  REFUSED: 502,
  UNKNOWN_REFUSAL: 502,
  // the network
  CUSTODIAN_UNREACHABLE: 503,
  UNKNOWN_CUSTODIAN: 503,
  NO_PEER: 503,
  NO_QUORUM: 503,
  CATCHING_UP: 503,
  TIMEOUT: 504,
  STOPPED: 503,
  // the store: shutting down, open elsewhere, copied from elsewhere
  CLOSED: 503,
  STORE_LOCKED: 503,
  STORE_MOVED: 503,
  // our own files or our own bug
  KEY_FILE: 500,
  SCRUB_FAILED: 500,
  BAD_REGISTRY_CORE: 500,
  INTERNAL: 500
} as const satisfies Readonly<Record<DomainErrorCode, number>>

/** Domain 5xx answers whose own message names a local path: the caller gets this instead (the log has the original). */
const FIXED_MESSAGE: Readonly<Partial<Record<DomainErrorCode, string>>> = {
  STORE_LOCKED: 'the node\'s store is open in another process',
  STORE_MOVED: 'the node\'s store was copied from elsewhere and is refused'
}

function domainError (err: unknown): HttpError | undefined {
  if (!(err instanceof CoreError || err instanceof LedgerError || err instanceof NetError)) return undefined
  // A write the custodian refused: its reason is the answer (e.g. ROLE_FORBIDDEN), not "refused"; unless it is the
  // custodian's own INTERNAL, which says nothing about the request: that stays REFUSED (502).
  const remote = err instanceof NetError && err.code === 'REFUSED' ? err.remoteCode : undefined
  const code: DomainErrorCode = remote !== undefined && remote !== 'INTERNAL' ? remote : err.code
  const status: number = DOMAIN_STATUS[code]
  if (status === 500) return INTERNAL
  const message = FIXED_MESSAGE[code] ?? err.message
  return { status, code, message, ...(err.field === undefined ? {} : { field: err.field }) }
}

/** The status, code and client-safe message of any error. */
export function toHttpError (err: unknown): HttpError {
  const domain = domainError(err)
  if (domain !== undefined) return domain
  if (err instanceof NodeError) {
    const status = STATUS_OF[err.code] ?? 500
    // A 5xx message may name a path or a cause: keep it in the server's log.
    if (err.code === 'CLOSED') return { status, code: 'CLOSED', message: 'the node is shutting down' }
    if (err.code === 'CONSOLE_NOT_BUILT') return { status, code: 'CONSOLE_NOT_BUILT', message: CONSOLE_NOT_BUILT_MESSAGE }
    if (status >= 500) return INTERNAL
    return { status, code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) }
  }
  const code = (err as Partial<FastifyError> | null)?.code
  if (typeof code === 'string') {
    const known = FASTIFY_CODES[code]
    if (known !== undefined) return { status: STATUS_OF[known.code], code: known.code, message: known.message }
    // Any other client error Fastify raises (a bad URL, a proto-poisoned body): a plain 400.
    const status = (err as FastifyError).statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) return { status: 400, code: 'BAD_REQUEST', message: 'the request is malformed' }
  }
  return INTERNAL
}

export function errorBody (error: Pick<HttpError, 'code' | 'message' | 'field'>): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) } }
}

/**
 * Answers with `error`. `reason` is what the audit line records instead of
 * the code when the caller is deliberately told less (NodeError.reason):
 * the log is read by the node's own staff only.
 */
export function sendError (request: FastifyRequest, reply: FastifyReply, error: HttpError, reason?: string): FastifyReply {
  const context = auditContextOf(request)
  context.code = reason ?? error.code
  context.answered = error.code
  // Refused before its body was read (a token check comes first): the rest of the body would still be on the
  // connection, and a client that stops sending would later be answered a second time (408). Close it after this answer.
  if (!request.raw.complete) void reply.header('connection', 'close')
  if (TOKEN_CODES.has(error.code as NodeErrorCode)) {
    void reply.header('www-authenticate', error.code === 'MISSING_TOKEN' ? 'Bearer' : 'Bearer error="invalid_token"')
  }
  return reply.code(error.status).type('application/json; charset=utf-8').send(errorBody(error))
}

/** Fastify's error handler: every error becomes an error body; 5xx are logged with their details. */
export function handleError (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = toHttpError(err)
  if (error.status >= 500) request.log.error({ event: 'request-failed', err }, 'request failed')
  return sendError(request, reply, error, err instanceof NodeError && error.status < 500 ? err.reason : undefined)
}

/**
 * Errors Fastify raises before routing (`frameworkErrors`): an invalid URL
 * or an over-long path segment. Answered in the API's shape, without
 * echoing the path (it is the client's input and could hold anything).
 */
export function handleFrameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Raised before routing: no onRequest hook ran, so the headers every answer carries are set here.
  void reply.header('cache-control', 'no-store')
  applySecurityHeaders(reply)
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendError(request, reply, { status: 414, code: 'URI_TOO_LONG', message: 'a path segment is longer than 100 characters' })
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    return sendError(request, reply, { status: 400, code: 'MALFORMED_REQUEST', message: 'the URL is not valid (a bad percent-encoding?)' })
  }
  return sendError(request, reply, { status: 400, code: 'MALFORMED_REQUEST', message: 'the request is malformed' })
}

/**
 * Errors of the HTTP parser and the server's timers (`clientErrorHandler`):
 * the request never became one a route could see (bad framing, header
 * syntax or size, method, a request that did not arrive in time). The
 * answer is written straight to the socket, which is then closed.
 */
export function handleClientError (err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in full in time'] as const
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request\'s headers or URL are too large'] as const
        : [400, 'Bad Request', 'MALFORMED_REQUEST', 'the HTTP request is malformed'] as const
  const body = JSON.stringify(errorBody({ code, message }))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n${securityHeaderLines()}Connection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

export function handleNotFound (request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(request, reply, { status: 404, code: 'NOT_FOUND', message: 'no such route; see /v1/openapi.json' })
}
