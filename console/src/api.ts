/**
 * The console's one way to the node: same-origin fetch, every answer parsed
 * with the API contract's own schema (@healthchain/node/api), every failure
 * turned into an ApiFailure with a stable code the screens can explain.
 * Codes of our own, beside the API's: NODE_UNREACHABLE (no answer at all:
 * the node is down or the network is gone), SESSION_EXPIRED (a 401 on a
 * request that carried a token), BAD_RESPONSE (an answer the contract does
 * not allow).
 */
import { errorBodySchema, queryString } from '@healthchain/node/api'
import type { z } from 'zod'

export type Method = 'GET' | 'POST'

export class ApiFailure extends Error {
  readonly code: string
  readonly status: number
  readonly field: string | undefined

  constructor (code: string, message: string, status: number, field?: string) {
    super(message)
    this.name = 'ApiFailure'
    this.code = code
    this.status = status
    this.field = field
  }
}

export const isApiFailure = (err: unknown): err is ApiFailure => err instanceof ApiFailure

export interface RequestOptions {
  readonly body?: unknown
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>
  /** Bearer token; omitted for the login itself and the enrolment hand-over. */
  readonly token?: string | undefined
  readonly timeoutMs?: number
}

/** Called when a request that carried a token is refused with 401: the session is over. */
let onSessionExpired: (() => void) | undefined
export function whenSessionExpires (handler: (() => void) | undefined): void { onSessionExpired = handler }

export async function request<S extends z.ZodType> (method: Method, path: string, schema: S, opts: RequestOptions = {}): Promise<z.output<S>> {
  const target = `${path}${queryString(opts.query)}`
  const headers: Record<string, string> = { accept: 'application/json' }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(target, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
      credentials: 'omit',
      cache: 'no-store'
    })
  } catch {
    throw new ApiFailure('NODE_UNREACHABLE', 'The node does not answer. It may be stopped, or your network is down.', 0)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    throw new ApiFailure('BAD_RESPONSE', `The node answered ${response.status} with something that is not JSON.`, response.status)
  }
  if (!response.ok) {
    const parsed = errorBodySchema.safeParse(body)
    const code = parsed.success ? parsed.data.error.code : `HTTP_${response.status}`
    const message = parsed.success ? parsed.data.error.message : `The node answered ${response.status}.`
    if (response.status === 401 && opts.token !== undefined) {
      onSessionExpired?.()
      throw new ApiFailure('SESSION_EXPIRED', 'Your session has ended. Sign in again.', 401)
    }
    throw new ApiFailure(code, message, response.status, parsed.success ? parsed.data.error.field : undefined)
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw new ApiFailure('BAD_RESPONSE', `The node's answer to ${method} ${path} does not match the API.`, response.status)
  return parsed.data
}

/** What a person should read for a failure: the API's message, with the common cases said plainly. */
export function explain (err: unknown): { code: string, message: string } {
  if (!isApiFailure(err)) return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) }
  switch (err.code) {
    case 'FORBIDDEN': return { code: err.code, message: `Your role may not do this. ${err.message}` }
    case 'LOGIN_REFUSED': return { code: err.code, message: 'Sign-in refused: the key or recovery phrase is not one this node knows.' }
    case 'UNKNOWN_KEY': return { code: err.code, message: 'Sign-in refused: this API key is not valid on this node.' }
    case 'RATE_LIMITED': return { code: err.code, message: 'Too many attempts. Wait a minute and try again.' }
    default: return { code: err.code, message: err.message }
  }
}
