/**
 * A small typed client of a node's HTTP API (node/README.md, "HTTP API"),
 * for the CLI and the narrated demo: JSON in and out, every answer checked
 * against the API contract's schema for it (api/, the very schemas the
 * server declares; a server that answers anything else is BAD_RESPONSE),
 * every error answer turned into an ApiError with the API's own stable code
 * (UNKNOWN_KEY, LOGIN_REFUSED, …).
 *
 * Logins: `loginWithApiKey` (staff), `loginAsUser` (a user's signed
 * challenge) and `loginAsUserInForce` (signed with the key generation the
 * node's challenge names) return a client that sends the bearer token.
 */
import {
  bytesToHex, fromHex, type CryptoProvider, type InstitutionId, type UserId, type UserKeys
} from '@healthchain/core'
import type { z } from 'zod'
import {
  auditReplySchema, challengeSchema, queryString, chainSummarySchema, entriesReplySchema, errorBodySchema, registrySchema, sessionSchema, statusSchema,
  verifyReplySchema,
  type AuditReply, type ChainSummary, type EntriesReply, type RegistryReply, type SessionReply, type StatusReply, type VerifyReply
} from '../api/index.js'
import { signLogin } from '../auth/challenge.js'
import { ApiError, CliError, findCause } from './errors.js'

export const DEFAULT_TIMEOUT_MS = 30_000

export interface RequestOptions {
  readonly body?: unknown
  readonly query?: Readonly<Record<string, string | number | undefined>>
}

export class ApiClient {
  readonly url: string
  private readonly token: string | undefined
  private readonly timeoutMs: number

  constructor (url: string, opts: { token?: string, timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, '')
    this.token = opts.token
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  withToken (token: string): ApiClient {
    return new ApiClient(this.url, { token, timeoutMs: this.timeoutMs })
  }

  /** One request; the 2xx body parsed with `schema`, any error answer thrown as ApiError. */
  async request<S extends z.ZodType> (method: 'GET' | 'POST', path: string, schema: S, opts: RequestOptions = {}): Promise<z.infer<S>> {
    const target = `${this.url}${path}${queryString(opts.query)}`
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await fetch(target, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        signal: AbortSignal.timeout(this.timeoutMs)
      })
    } catch (err) {
      throw unreachable(this.url, err, this.timeoutMs)
    }
    const text = await response.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new CliError('BAD_RESPONSE', `${method} ${path} at ${this.url}: HTTP ${response.status}, and the answer is not JSON (is this a healthchain node?)`)
    }
    if (!response.ok) {
      const error = errorBodySchema.safeParse(json)
      if (!error.success) throw new CliError('BAD_RESPONSE', `${method} ${path} at ${this.url}: HTTP ${response.status} without an error body`)
      throw new ApiError(response.status, error.data.error.code, error.data.error.message, error.data.error.field)
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) throw new CliError('BAD_RESPONSE', `${method} ${path} at ${this.url}: the answer does not have the expected fields (is this a healthchain node of this version?)`)
    return parsed.data
  }

  async status (): Promise<StatusReply> { return await this.request('GET', '/v1/status', statusSchema) }
  async registry (): Promise<RegistryReply> { return await this.request('GET', '/v1/registry', registrySchema) }
  async chain (user: UserId | string): Promise<ChainSummary> { return await this.request('GET', `/v1/users/${user}`, chainSummarySchema) }
  async entries (user: UserId | string, query: { type?: string } = {}): Promise<EntriesReply> {
    return await this.request('GET', `/v1/users/${user}/entries`, entriesReplySchema, { query })
  }

  async verify (user: UserId | string): Promise<VerifyReply> { return await this.request('GET', `/v1/users/${user}/verify`, verifyReplySchema) }
  async audit (query: { start?: number, limit?: number } = {}): Promise<AuditReply> { return await this.request('GET', '/v1/audit', auditReplySchema, { query }) }
}

function unreachable (url: string, err: unknown, timeoutMs: number): CliError {
  if (findCause(err, (e) => (e as Error).name === 'TimeoutError' ? true : undefined) === true) {
    return new CliError('UNREACHABLE', `no answer from ${url} within ${timeoutMs / 1000} s`, { cause: err })
  }
  const errno = findCause(err, (e) => {
    const code = (e as NodeJS.ErrnoException).code
    return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined
  })
  // Reset or closed without an answer: something listens there, but it does not speak HTTP (a libp2p port, say).
  if (errno === 'ECONNRESET' || errno === 'EPIPE') {
    return new CliError('UNREACHABLE', `${url} took the connection but closed it without an HTTP answer (${errno}): is this the node's API address, not its libp2p port?`, { cause: err })
  }
  return new CliError('UNREACHABLE', `nothing answers at ${url}${errno === undefined ? '' : ` (${errno})`}: is the node running, and is this its API address?`, { cause: err })
}

/** Staff login with an API key: a client that sends the token it got. */
export async function loginWithApiKey (api: ApiClient, apiKey: string): Promise<{ client: ApiClient, session: SessionReply }> {
  const session = await api.request('POST', '/v1/session', sessionSchema, { body: { apiKey } })
  return { client: api.withToken(session.token), session }
}

/**
 * User login by signed challenge. `institution` is the id of the node the
 * user means to reach, known to the user beforehand, never taken from the
 * server: the signature is bound to it, so a node that relays a challenge
 * from another node gets a signature the other node refuses.
 */
export async function loginAsUser (
  api: ApiClient, institution: InstitutionId, user: UserKeys, crypto: CryptoProvider
): Promise<{ client: ApiClient, session: SessionReply }> {
  const { challenge } = await api.request('POST', '/v1/session/challenge', challengeSchema, { body: { userId: user.userId } })
  return await answerChallenge(api, institution, user, challenge, crypto)
}

/**
 * User login with the key generation in force at the node: its challenge
 * names the generation, `keysOf` derives that generation's keys (from the
 * recovery phrase) and they sign once, so a rotated user spends no refused
 * login on the generations before.
 */
export async function loginAsUserInForce (
  api: ApiClient, institution: InstitutionId, userId: UserId, keysOf: (generation: number) => UserKeys, crypto: CryptoProvider
): Promise<{ client: ApiClient, session: SessionReply, keys: UserKeys, generation: number }> {
  const { challenge, generation } = await api.request('POST', '/v1/session/challenge', challengeSchema, { body: { userId } })
  const keys = keysOf(generation)
  return { ...await answerChallenge(api, institution, keys, challenge, crypto), keys, generation }
}

async function answerChallenge (
  api: ApiClient, institution: InstitutionId, user: UserKeys, challenge: string, crypto: CryptoProvider
): Promise<{ client: ApiClient, session: SessionReply }> {
  const signature = signLogin(institution, fromHex(challenge, 32, 'challenge'), user.sign.secretKey, crypto)
  const session = await api.request('POST', '/v1/session', sessionSchema, { body: { userId: user.userId, challenge, signature: bytesToHex(signature) } })
  return { client: api.withToken(session.token), session }
}
