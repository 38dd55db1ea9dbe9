/** GET /v1/openapi.json: the OpenAPI 3.1 document, built by @fastify/swagger from the routes' zod schemas (the API contract, api/). */
import { noQuerySchema } from '../../api/index.js'
import type { App } from '../types.js'

export function registerOpenApiRoute (app: App): void {
  app.get('/v1/openapi.json', {
    schema: { summary: 'This API\'s OpenAPI document', tags: ['node'], querystring: noQuerySchema }
  }, async () => app.swagger())
}
