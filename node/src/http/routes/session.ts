/**
 * The login audit.
 *
 *   POST /v1/session/challenge   { userId }                         → { challenge, expiresAt, generation }
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
import { fromHex } from '@healthchain/core'
import { challengeRequestSchema, challengeSchema, errorReplies, loginRequestSchema, sessionSchema } from '../../api/index.js'
import { apiKeyIdOf } from '../../auth/api-keys.js'
import { actorOf, type Sessions } from '../../auth/sessions.js'
import { auditContextOf } from '../request-context.js'
import type { App } from '../types.js'

export interface SessionRoutesDeps {
  readonly sessions: Sessions
}

export function registerSessionRoutes (app: App, deps: SessionRoutesDeps): void {
  app.post('/v1/session/challenge', {
    schema: {
      summary: 'A one-time login challenge for a user (expires in minutes), and the generation of their key that must sign it',
      description: 'The generation is the one in force on this node\'s copy of the chain (0 until the user rotates their keys); ' +
        'a user not known here is answered alike (generation 0), no sooner than any other.',
      tags: ['session'],
      body: challengeRequestSchema,
      response: { 200: challengeSchema, ...errorReplies }
    }
  }, async (request) => {
    const issued = await deps.sessions.challenge(request.body.userId)
    return { challenge: issued.challenge, expiresAt: new Date(issued.expiresAt).toISOString(), generation: issued.generation }
  })

  app.post('/v1/session', {
    config: { audit: { action: 'login' } },
    schema: {
      summary: 'Log in: an API key, or a signed challenge → a short-lived bearer token',
      description: 'Every attempt is written to the audit log. Refused: 401 with the reason\'s code.',
      tags: ['session'],
      body: loginRequestSchema,
      response: { 200: sessionSchema, ...errorReplies }
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
        userId: body.userId,
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
