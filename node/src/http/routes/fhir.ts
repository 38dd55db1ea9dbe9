/**
 * FHIR R4 in and out (fhir/):
 *
 *   POST /v1/users/{id}/fhir?values=plain|sealed   examiner         an Observation or a Bundle of them, validated
 *                                                                    against the R4 definitions, stored as one exam
 *   GET  /v1/users/{id}/fhir                        all (user: own)  the chain as a Bundle of Observations, built from
 *                                                                    the caller's own view (sealed only if readable)
 */
import type { UserId } from '@healthchain/core'
import { z } from 'zod'
import { chainToBundle } from '../../fhir/to-bundle.js'
import { examFromFhir } from '../../fhir/to-exam.js'
import { validateFhir } from '../../fhir/validate.js'
import { BEARER_SECURITY, requireAuth } from '../auth.js'
import { errorBodySchema } from '../errors.js'
import type { App } from '../types.js'
import { readViews, writeExam, type ChainRoutesDeps } from './chains.js'
import { writeReplySchema } from '../chain-replies.js'

const errors = { '4XX': errorBodySchema, '5XX': errorBodySchema }
const userParams = z.strictObject({ id: z.string().regex(/^[a-z2-7]{32}$/, { error: 'expected a 32-character user id' }) })

export function registerFhirRoutes (app: App, deps: ChainRoutesDeps): void {
  const target = (request: { params: unknown }) => `user:${(request.params as { id?: string }).id ?? ''}`

  app.post('/v1/users/:id/fhir', {
    ...requireAuth(deps.sessions, { roles: ['examiner'], action: 'write', target }),
    schema: {
      summary: 'Store a FHIR R4 Observation or Bundle of Observations as an exam (values plain by default; notes always sealed)',
      tags: ['fhir'], params: userParams, security: BEARER_SECURITY,
      querystring: z.strictObject({ values: z.enum(['plain', 'sealed']).optional() }),
      // Any JSON object here: the FHIR definitions, not this schema, judge it (errors name the element).
      body: z.looseObject({ resourceType: z.string({ error: 'expected a FHIR resource with a resourceType' }) }),
      response: { 201: writeReplySchema, ...errors }
    }
  }, async (request, reply) => {
    const resource = validateFhir(request.body)
    const exam = examFromFhir(resource, request.query.values ?? 'plain')
    const result = await writeExam(deps, request.params.id as UserId, exam)
    return await reply.code(201).send(result)
  })

  app.get('/v1/users/:id/fhir', {
    ...requireAuth(deps.sessions, { roles: ['user', 'examiner', 'inquirer', 'regulator'], action: 'read', target }),
    schema: {
      summary: 'The chain as a FHIR R4 Bundle (collection) of Observations, as much as the caller may read',
      tags: ['fhir'], params: userParams, security: BEARER_SECURITY,
      response: { 200: z.unknown(), ...errors }
    }
  }, async (request, reply) => {
    const views = await readViews(request, deps, { types: ['exam', 'exercise'] })
    return await reply.type('application/fhir+json; charset=utf-8').send(chainToBundle(views.userId, views.chainKey, views.entries))
  })
}
