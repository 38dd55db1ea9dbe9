/**
 * GET /livez and GET /readyz (outside /v1: the process's, for health checks
 * and load balancers, not part of the OpenAPI document).
 */
import { z } from 'zod'

export const READINESS_CHECKS = ['registry', 'network', 'index', 'restore'] as const
export type ReadinessCheck = typeof READINESS_CHECKS[number]

export const livenessSchema = z.object({ live: z.literal(true) })

export const readinessSchema = z.object({
  ready: z.boolean(),
  checks: z.object({
    registry: z.boolean().describe('the consortium registry is held, with at least its first entry'),
    network: z.boolean().describe('the libp2p host is started'),
    index: z.boolean().describe('the query index finished its start-up catch-up with the chains held'),
    restore: z.boolean().describe('not restored from a backup, or caught up with the peers since (writes to its own chains are held until then)')
  }),
  notReady: z.array(z.enum(READINESS_CHECKS)).describe('the checks that fail')
})
export type ReadinessReport = z.infer<typeof readinessSchema>
