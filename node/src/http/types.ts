/** The Fastify instance the API is built on: zod schemas for validation, serialization and the OpenAPI document. */
import type {
  FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault
} from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>

/**
 * A module of routes: `(app) => registerXRoutes(app, deps)`. Each module
 * says what it needs in its own `XRoutesDeps` interface; the daemon wires
 * them by hand in one place.
 */
export type RouteModule = (app: App) => void | Promise<void>
