/**
 * Enrolment hand-over over HTTP (the service, services/enrolments.ts, says
 * how tickets work):
 *
 *   POST /v1/enrolments                     examiner   open a ticket → 201 { code, expiresAt, custodian }
 *   GET  /v1/enrolments/{code}              examiner   { status, userId?, expiresAt }
 *   POST /v1/enrolments/{code}/chain-key    no login   { userId } → the chain key; binds the ticket to the user
 *   POST /v1/enrolments/{code}              no login   { genesis } → 201 chain summary; uses the ticket up
 *
 * The two routes a patient's device calls need no login (the patient has
 * no account yet): the code is the credential. They take the login budget
 * of the rate limit (http/rate-limit.ts), and are audited like the
 * enrolment staff make themselves, the actor being the staff key that
 * opened the ticket (anonymous when the code opens nothing). The code never
 * goes into an audit line.
 */
import type { FastifyRequest } from 'fastify'
import {
  chainKeyReplySchema, chainSummarySchema, enrolmentParamsSchema, enrolmentTicketSchema, enrolRequestSchema, errorReplies, noQuerySchema,
  ticketChainKeyRequestSchema, ticketStatusSchema
} from '../../api/index.js'
import { actorOf, type Sessions } from '../../auth/sessions.js'
import { hexToBytes, userOfGenesis } from '../../services/chains.js'
import type { EnrolmentService, TicketUse } from '../../services/enrolments.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'

export interface EnrolmentRoutesDeps {
  readonly sessions: Sessions
  readonly enrolments: EnrolmentService
}

/** What a ticket route's audit line names: tickets, never their codes. */
const TICKET_TARGET = 'enrolment-ticket'

export function registerEnrolmentRoutes (app: App, deps: EnrolmentRoutesDeps): void {
  const { sessions, enrolments } = deps

  app.post('/v1/enrolments', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'enrol', target: () => TICKET_TARGET }),
    schema: {
      summary: 'Open a one-time enrolment ticket: its code lets the patient\'s own device enrol (expires in minutes)',
      tags: ['enrolments'],
      querystring: noQuerySchema,
      security: BEARER_SECURITY,
      response: { 201: enrolmentTicketSchema, ...errorReplies }
    }
  }, async (request, reply) => await reply.code(201).send(enrolments.create(actorOf(sessionOf(request)))))

  app.get('/v1/enrolments/:code', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'read', target: () => TICKET_TARGET }),
    schema: {
      summary: 'Where an enrolment ticket stands: pending, enrolled (and for whom) or expired',
      tags: ['enrolments'],
      params: enrolmentParamsSchema,
      querystring: noQuerySchema,
      security: BEARER_SECURITY,
      response: { 200: ticketStatusSchema, ...errorReplies }
    }
  }, async (request) => enrolments.status(request.params.code))

  app.post('/v1/enrolments/:code/chain-key', {
    config: { audit: { action: 'read', target: (r) => userTargetOf(r, (r.body as { userId?: unknown } | undefined)?.userId) } },
    schema: {
      summary: 'With a ticket\'s code and no login: the key the user\'s chain gets here (sign the genesis for it); binds the ticket to the user',
      tags: ['enrolments'],
      params: enrolmentParamsSchema,
      body: ticketChainKeyRequestSchema,
      response: { 200: chainKeyReplySchema, ...errorReplies }
    }
  }, async (request) => await enrolments.chainKey(request.params.code, request.body.userId, onTicketOf(request)))

  app.post('/v1/enrolments/:code', {
    config: { audit: { action: 'enrol', target: (r) => userTargetOf(r, genesisUserOfBody(r.body)) } },
    schema: {
      summary: 'With a ticket\'s code and no login: enrol from a genesis the user signed; this node becomes the custodian',
      tags: ['enrolments'],
      params: enrolmentParamsSchema,
      body: enrolRequestSchema,
      response: { 201: chainSummarySchema, ...errorReplies }
    }
  }, async (request, reply) => {
    return await reply.code(201).send(await enrolments.enrol(request.params.code, hexToBytes(request.body.genesis), onTicketOf(request)))
  })
}

/** Once the ticket is found, the audit line names the staff key that opened it, as the actor of this enrolment. */
function onTicketOf (request: FastifyRequest): (use: TicketUse) => void {
  return (use) => {
    const context = auditContextOf(request)
    context.actor = use.creator
    context.role = 'examiner'
  }
}

/** `user:<id>` for a user id the body names, read before validation (anything may be there); a line without a target otherwise. */
function userTargetOf (_request: FastifyRequest, user: unknown): string | undefined {
  return typeof user === 'string' && user !== '' ? `user:${user}` : undefined
}

function genesisUserOfBody (body: unknown): string | undefined {
  const genesis = (body as { genesis?: unknown } | undefined)?.genesis
  if (typeof genesis !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(genesis)) return undefined
  return userOfGenesis(hexToBytes(genesis))
}
