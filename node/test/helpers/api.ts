/**
 * A real API for tests: a data directory in a fresh temporary directory, a
 * Corestore with the audit log, the API key store, tokens and challenges on
 * a clock the test moves, and the HTTP server listening on 127.0.0.1 on a
 * free port. `stop()` closes all of it and removes the directory.
 */
import Corestore from 'corestore'
import type { InstitutionId, InstitutionRole, UserId } from '@healthchain/core'
import {
  ApiKeyStore, AuditAggregator, AuditLog, ChallengeStore, createServer, prepareDataDir, Sessions, TokenStore,
  type App, type AuditLine, type AuditSink, type DataDirLayout, type RouteModule, type ServerInit, type StatusFields
} from '../../src/index.js'
import { crypto, fakeClock, makeTempDir, removeDir, type FakeClock } from './fixtures.js'
import { localCoresOf } from '@healthchain/ledger/testing'

export const NODE_NAME = 'hospital-a' as InstitutionId
export const TOKEN_TTL_MS = 15 * 60 * 1000
export const CHALLENGE_TTL_MS = 2 * 60 * 1000

export const STUB_STATUS: StatusFields = {
  peerId: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
  connectedPeers: ['12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'],
  chainsHeld: 3,
  replicationLag: { chainsBehind: 1, blocksBehind: 4 },
  catchUp: null
}

export interface TestApiOptions {
  readonly role?: InstitutionRole
  readonly bodyLimit?: number
  /** Extra route modules, built from the API's parts. */
  readonly routes?: (parts: TestApiParts) => RouteModule[]
  /** Replaces the audit log as the server's sink (to make it fail). */
  readonly auditSink?: AuditSink
  /** The server's request timeout (default: the server's own). */
  readonly requestTimeoutMs?: number
  /** Rate limits per source address (default: the server's own, which these tests never reach). */
  readonly rateLimit?: ServerInit['rateLimit']
  /**
   * Put an AuditAggregator on the test clock between the server and the log, as the daemon does; its windows end
   * only when the test calls `aggregator.flush()`. Default: lines go straight to the log, one per answer.
   */
  readonly aggregate?: { readonly maxGroups?: number }
}

export interface TestApiParts {
  readonly clock: FakeClock
  readonly layout: DataDirLayout
  readonly store: Corestore
  readonly audit: AuditLog
  readonly apiKeys: ApiKeyStore
  readonly tokens: TokenStore
  readonly challenges: ChallengeStore
  readonly sessions: Sessions
  /** Users whose keys this node knows (the challenge's lookupUserKey). */
  readonly userKeys: Map<UserId, Uint8Array>
  /** The generation of a known user's key in force, when not 0 (the challenge's lookupUserGeneration). */
  readonly userGenerations: Map<UserId, number>
  /** The aggregator in front of the log, when the options asked for one. */
  readonly aggregator: AuditAggregator | undefined
}

export interface TestApi extends TestApiParts {
  readonly url: string
  readonly app: App
  /** JSON request; `body` is sent as JSON unless it is a string (then as-is, with `contentType`). */
  request (
    method: string, path: string, opts?: { body?: unknown, token?: string, contentType?: string, headers?: Record<string, string> }
  ): Promise<{ status: number, body: any, headers: Headers }>
  auditLines (): Promise<AuditLine[]>
  stop (): Promise<void>
}

export async function startTestApi (opts: TestApiOptions = {}): Promise<TestApi> {
  const dir = await makeTempDir()
  const layout = await prepareDataDir(dir)
  const clock = fakeClock(Date.now())
  const store = new Corestore(layout.store)
  await store.ready()
  const audit = await AuditLog.open(localCoresOf(store), { now: clock.now })
  const apiKeys = await ApiKeyStore.open(layout.apiKeysFile, { now: clock.now })
  const tokens = new TokenStore({ ttlMs: TOKEN_TTL_MS, now: clock.now })
  const userKeys = new Map<UserId, Uint8Array>()
  const userGenerations = new Map<UserId, number>()
  const challenges = new ChallengeStore({
    crypto,
    lookupUserKey: (id) => userKeys.get(id),
    lookupUserGeneration: (id) => userKeys.has(id) ? userGenerations.get(id) ?? 0 : undefined
  }, { node: NODE_NAME, ttlMs: CHALLENGE_TTL_MS, now: clock.now })
  const role = opts.role ?? 'examiner'
  const sessions = new Sessions({ apiKeys, tokens, challenges }, { role })
  // Never started: no timer ends its windows, the test does.
  const aggregator = opts.aggregate === undefined
    ? undefined
    : new AuditAggregator(audit, { windowMs: 60_000, maxGroups: opts.aggregate.maxGroups ?? 1000, now: clock.now })
  const parts: TestApiParts = { clock, layout, store, audit, apiKeys, tokens, challenges, sessions, userKeys, userGenerations, aggregator }

  let app: App | undefined
  try {
    app = await createServer({ sessions, audit: opts.auditSink ?? aggregator ?? audit, status: () => STUB_STATUS }, {
      name: NODE_NAME,
      role,
      bodyLimit: opts.bodyLimit ?? 64 * 1024,
      routes: opts.routes?.(parts) ?? [],
      ...(opts.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: opts.requestTimeoutMs }),
      ...(opts.rateLimit === undefined ? {} : { rateLimit: opts.rateLimit })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  } catch (err) {
    await app?.close()
    await audit.close()
    await store.close()
    await removeDir(dir)
    throw err
  }
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const url = `http://127.0.0.1:${address.port}`
  const listening = app

  return {
    url,
    app: listening,
    ...parts,
    async request (method, path, { body, token, contentType, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } }
      const h = init.headers as Record<string, string>
      if (token !== undefined) h.authorization = `Bearer ${token}`
      if (body !== undefined) {
        h['content-type'] = contentType ?? 'application/json'
        init.body = typeof body === 'string' || body instanceof Uint8Array ? body as string : JSON.stringify(body)
      }
      const response = await fetch(url + path, init)
      const text = await response.text()
      let parsed: unknown = text
      try { parsed = JSON.parse(text) } catch {}
      return { status: response.status, body: parsed, headers: response.headers }
    },
    async auditLines () {
      return (await audit.read()).map((l) => l.line)
    },
    async stop () {
      await listening.close()
      await aggregator?.close()
      await audit.close()
      await store.close()
      await removeDir(dir)
    }
  }
}
