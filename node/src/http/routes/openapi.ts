/** GET /v1/openapi.json: the OpenAPI 3.1 document, built by @fastify/swagger from the routes' zod schemas. */
import { z } from 'zod'
import type { App } from '../types.js'

export function registerOpenApiRoute (app: App): void {
  app.get('/v1/openapi.json', {
    schema: { summary: 'This API\'s OpenAPI document', tags: ['node'], querystring: z.strictObject({}) }
  }, async () => app.swagger())
}
