/**
 * FHIR R4 in and out (services/fhir.ts):
 *
 *   POST /v1/users/{id}/fhir?values=plain|sealed   examiner         an Observation or a Bundle of them, validated
 *                                                                    against the R4 definitions, stored as one exam
 *   GET  /v1/users/{id}/fhir                        all (user: own)  the chain as a Bundle of Observations, built from
 *                                                                    the caller's own view (sealed only if readable)
 */
import { errorReplies, fhirBundleSchema, fhirResourceSchema, fhirWriteQuerySchema, userParamsSchema, writeReplySchema } from '../../api/index.js'
import type { Sessions } from '../../auth/sessions.js'
import type { FhirService } from '../../services/fhir.js'
import { BEARER_SECURITY, requireAuth, sessionOf } from '../auth.js'
import { userTarget } from '../request-params.js'
import type { App } from '../types.js'

export interface FhirRoutesDeps {
  readonly sessions: Sessions
  readonly fhir: FhirService
}

export function registerFhirRoutes (app: App, deps: FhirRoutesDeps): void {
  const { sessions, fhir } = deps

  app.post('/v1/users/:id/fhir', {
    ...requireAuth(sessions, { roles: ['examiner'], action: 'write', target: userTarget }),
    schema: {
      summary: 'Store a FHIR R4 Observation or Bundle of Observations as an exam (values plain by default; notes always sealed)',
      tags: ['fhir'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      querystring: fhirWriteQuerySchema,
      body: fhirResourceSchema,
      response: { 201: writeReplySchema, ...errorReplies }
    }
  }, async (request, reply) => {
    return await reply.code(201).send(await fhir.store(request.params.id, request.body, request.query.values ?? 'plain'))
  })

  app.get('/v1/users/:id/fhir', {
    ...requireAuth(sessions, { roles: ['user', 'examiner', 'inquirer', 'regulator'], action: 'read', target: userTarget }),
    schema: {
      summary: 'The chain as a FHIR R4 Bundle (collection) of Observations, as much as the caller may read',
      tags: ['fhir'],
      params: userParamsSchema,
      security: BEARER_SECURITY,
      response: { 200: fhirBundleSchema, ...errorReplies }
    }
  }, async (request, reply) => {
    return await reply.type('application/fhir+json; charset=utf-8').send(await fhir.bundle(sessionOf(request), request.params.id))
  })
}
