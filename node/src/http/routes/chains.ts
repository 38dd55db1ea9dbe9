/**
 * Users' chains over HTTP: every route is guarded (requireAuth: token, role,
 * audit line), parses its request with the API contract's schemas, calls
 * the chain service once and answers. Who may read which chain is the
 * access policy's (services/access.ts); how writes are signed, sealed and
 * appended is the chain service's (services/chains.ts).
 *
 *   GET  /v1/users/{id}/chain-key   examiner        the key this node gives the chain when it enrols the user
 *   POST /v1/users                  examiner        enrol from a user-signed genesis; this node becomes custodian
 *   GET  /v1/users/{id}             all (user: own) the chain's key, custodian, lengths, fork flag
 *   POST /v1/users/{id}/entries     examiner        { type: 'exam', plain, sealed } — the node signs and seals
 *                                   user (own)      { entry, seq } — an entry the user signed for position seq
 *   GET  /v1/users/{id}/entries     all (user: own) entries as the caller's role may see them
 *   GET  /v1/users/{id}/verify      all (user: own) the full integrity report
 *   GET  /v1/users/{id}/head        all (user: own) the signed head held here and the witnesses' cosignatures
 *   GET  /v1/users?prefix=          staff           find chains held here by the start of the user id
 */
import {
  chainHeadReplySchema, chainKeyReplySchema, chainSummarySchema, enrolRequestSchema, entriesQuerySchema, entriesReplySchema, errorReplies,
  findUsersQuerySchema, findUsersReplySchema, noQuerySchema, userParamsSchema, verifyReplySchema, writeReplySchema, writeRequestSchema
} from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import { checkWindow } from '../../query-index/params.js'
import { hexToBytes, userOfGenesis, type ChainService } from '../../services/chains.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { inPart, toMs, userTarget } from '../request-params.js'
import type { App } from '../types.js'

export interface ChainRoutesDeps {
  readonly sessions: Sessions
  readonly chains: ChainService
}

const READERS = ['user', 'examiner', 'inquirer', 'regulator'] as const
const STAFF_READERS = ['examiner', 'inquirer', 'regulator'] as const

export function registerChainRoutes (app: App, deps: ChainRoutesDeps): void {
  const { sessions, chains } = deps

  app.get('/v1/users/:id/chain-key', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'read', target: userTarget }),
    schema: {
      summary: 'The key this node gives a user\'s chain when it enrols them (sign the genesis for it, position 0)',
      tags: ['users'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      response: { 200: chainKeyReplySchema, ...errorReplies }
    }
  }, async (request) => await chains.chainKey(request.params.id))

  app.post('/v1/users', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'enrol', target: (r) => `user:${genesisUserOfBody(r.body) ?? '(unknown)'}` }),
    schema: {
      summary: 'Enrol a user from a genesis they signed; this node becomes the custodian',
      tags: ['users'],
      security: BEARER_SECURITY,
      body: enrolRequestSchema,
      response: { 201: chainSummarySchema, ...errorReplies }
    }
  }, async (request, reply) => await reply.code(201).send(await chains.enrol(hexToBytes(request.body.genesis))))

  app.get('/v1/users/:id', {
    ...requireAuth(sessions, { roles: READERS, action: 'read', target: userTarget }),
    schema: {
      summary: 'A chain\'s key, custodian and lengths',
      tags: ['users'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      response: { 200: chainSummarySchema, ...errorReplies }
    }
  }, async (request) => await chains.summary(sessionOf(request), request.params.id))

  app.post('/v1/users/:id/entries', {
    ...requireAuth(sessions, { roles: ['examiner', 'user'], action: 'write', target: userTarget }),
    schema: {
      summary: 'Write an entry: examiners send an exam to seal and sign; users send an entry they signed',
      tags: ['entries'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      body: writeRequestSchema,
      response: { 201: writeReplySchema, ...errorReplies }
    }
  }, async (request, reply) => await reply.code(201).send(await chains.write(sessionOf(request), request.params.id, request.body, 'body.')))

  app.get('/v1/users/:id/entries', {
    ...requireAuth(sessions, { roles: READERS, action: 'read', target: userTarget }),
    schema: {
      summary: 'Query: entries filtered by type and time; sealed parts only as the role allows',
      tags: ['entries'],
      params: userParamsSchema,
      querystring: entriesQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: entriesReplySchema, ...errorReplies }
    }
  }, async (request) => {
    const q = request.query
    const since = toMs(q.since)
    const until = toMs(q.until)
    // The same window rules as every time query: within 2000–2200, until after since.
    if (since !== undefined || until !== undefined) inPart('query', () => checkWindow(since, until))
    return await chains.read(sessionOf(request), request.params.id, {
      ...(q.type === undefined ? {} : { types: [q.type] }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      // Reads start after the genesis by default; asked for the genesis by type, start at it.
      ...(q.start === undefined ? (q.type === 'genesis' ? { start: 0 } : {}) : { start: Number(q.start) }),
      ...(q.end === undefined ? {} : { end: Number(q.end) })
    }, { encoded: q.encoded === 'true' })
  })

  app.get('/v1/users/:id/head', {
    ...requireAuth(sessions, { roles: READERS, action: 'read', target: userTarget }),
    schema: {
      summary: 'The chain\'s signed head held here, with the witnesses\' cosignatures of it, to check in the browser',
      tags: ['users'],
      params: userParamsSchema,
      querystring: noQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: chainHeadReplySchema, ...errorReplies }
    }
  }, async (request) => await chains.head(sessionOf(request), request.params.id))

  app.get('/v1/users', {
    ...requireAuth(sessions, { roles: STAFF_READERS, action: 'read', target: prefixTarget }),
    schema: {
      summary: 'Find a patient: chains held here whose user id starts with a prefix',
      tags: ['users'],
      querystring: findUsersQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: findUsersReplySchema, ...errorReplies }
    }
  }, async (request) => await chains.find(request.query))

  app.get('/v1/users/:id/verify', {
    ...requireAuth(sessions, { roles: READERS, action: 'read', target: userTarget }),
    schema: {
      summary: 'The full integrity report of a chain: tree, signed head, every author signature, roles, consent, erasures',
      tags: ['entries'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      response: { 200: verifyReplySchema, ...errorReplies }
    }
  }, async (request) => await chains.verify(sessionOf(request), request.params.id))
}

/** A search's audit target: the prefix asked for (read before validation; the audit hook refuses what is not printable). */
function prefixTarget (request: { query: unknown }): string {
  const prefix = (request.query as { prefix?: unknown } | undefined)?.prefix
  return `users:${typeof prefix === 'string' ? prefix.slice(0, 40) : ''}`
}

/** The user an enrolment's genesis names, for its audit line (read before validation: anything may be there). */
function genesisUserOfBody (body: unknown): string | undefined {
  const genesis = (body as { genesis?: unknown } | undefined)?.genesis
  if (typeof genesis !== 'string') return undefined
  try {
    return userOfGenesis(hexToBytes(genesis))
  } catch {
    return undefined
  }
}
