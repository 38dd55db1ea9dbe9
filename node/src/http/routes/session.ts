/**
 * The login audit (S1).
 *
 *   POST /v1/session/challenge   { userId }                         → { challenge, expiresAt }
 *   POST /v1/session             { apiKey }                         → token   (staff)
 *                                { userId, challenge, signature }   → token   (users)
 *
 * Every login attempt — granted, refused, or not even well-formed — is
 * audited with the remote address (the audit hook writes its line before
 * the answer goes out; repeated refusals from one source are counted into
 * one line, audit/audit-aggregator.ts). A refusal is 401 with its code and
 * changes nothing else; a source over its login budget is 429
 * (http/rate-limit.ts). Handlers only translate: the work is in
 * auth/sessions.ts.
 */
import { fromHex, INSTITUTION_ROLES, type UserId } from '@healthchain/core'
import { z } from 'zod'
import { apiKeyIdOf } from '../../auth/api-keys.js'
import { actorOf, type Sessions } from '../../auth/sessions.js'
import { errorBodySchema } from '../errors.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'

const userIdSchema = z.string().regex(/^[a-z2-7]{32}$/, { error: 'expected a 32-character user id' })
  .describe('user id: base32 of the hash of the user\'s signing key')

const challengeRequestSchema = z.strictObject({ userId: userIdSchema })

const challengeSchema = z.object({
  challenge: z.string().describe('32-byte nonce, hex; sign "healthchain/v1/login" 0x00 ‖ len ‖ institution id ‖ nonce'),
  expiresAt: z.iso.datetime()
})

const apiKeyLoginSchema = z.strictObject({
  apiKey: z.string().min(1, { error: 'expected an API key' }).max(256, { error: 'expected an API key' })
    .describe('staff API key, hck_<id>_<secret>')
}).describe('staff login')

const userLoginSchema = z.strictObject({
  userId: userIdSchema,
  challenge: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'expected the 32-byte challenge in hex' }),
  signature: z.string().regex(/^[0-9a-fA-F]{128}$/, { error: 'expected a 64-byte Ed25519 signature in hex' })
}).describe('user login: a challenge signed with the user\'s key')

const sessionSchema = z.object({
  token: z.string().describe('bearer token: send Authorization: Bearer <token>'),
  tokenType: z.literal('Bearer'),
  expiresAt: z.iso.datetime(),
  role: z.enum(['user', ...INSTITUTION_ROLES]),
  subject: z.string().describe('API key id (staff) or user id (users)')
})

export interface SessionRoutesDeps {
  readonly sessions: Sessions
}

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }

export function registerSessionRoutes (app: App, deps: SessionRoutesDeps): void {
  app.post('/v1/session/challenge', {
    schema: {
      summary: 'A one-time login challenge for a user (expires in minutes)',
      tags: ['session'],
      body: challengeRequestSchema,
      response: { 200: challengeSchema, ...errors }
    }
  }, async (request) => {
    const issued = deps.sessions.challenge(request.body.userId as UserId)
    return { challenge: issued.challenge, expiresAt: new Date(issued.expiresAt).toISOString() }
  })

  app.post('/v1/session', {
    config: { audit: { action: 'login' } },
    schema: {
      summary: 'Log in (S1): an API key, or a signed challenge → a short-lived bearer token',
      description: 'Every attempt is written to the audit log. Refused: 401 with the reason\'s code.',
      tags: ['session'],
      body: z.union([apiKeyLoginSchema, userLoginSchema]),
      response: { 200: sessionSchema, ...errors }
    }
  }, async (request) => {
    const body = request.body
    const context = auditContextOf(request)
    let login
    if ('apiKey' in body) {
      // Audited as whom the key claims to be (its id is not secret), before it is checked.
      const id = apiKeyIdOf(body.apiKey)
      if (id !== undefined) context.actor = `key:${id}`
      login = await deps.sessions.loginWithApiKey(body.apiKey)
    } else {
      context.actor = `user:${body.userId}`
      login = await deps.sessions.loginWithChallenge({
        userId: body.userId as UserId,
        challenge: body.challenge,
        signature: fromHex(body.signature, 64, 'signature')
      })
    }
    context.actor = actorOf(login.principal)
    context.role = login.principal.role
    return {
      token: login.token,
      tokenType: 'Bearer' as const,
      expiresAt: new Date(login.expiresAt).toISOString(),
      role: login.principal.role,
      subject: login.principal.subject
    }
  })
}
