/**
 * The analyst's calls: statistics, contact tracing, the location points of
 * the chains a trace names (an inquirer reads plain segments), and the
 * audit line the trace left on this node.
 */
import {
  auditReplySchema, entriesReplySchema, statisticsReplySchema, traceReplySchema,
  type AuditReply, type StatisticsReply, type TraceReply
} from '@healthchain/node/api'
import { request } from '../api.js'

export type Period = StatisticsReply['period']
export type AuditLine = AuditReply['lines'][number]

export async function statistics (token: string, q: { code: string, period: Period, since?: string, until?: string }): Promise<StatisticsReply> {
  return await request('GET', '/v1/statistics', statisticsReplySchema, { token, query: q })
}

export interface TraceQuery {
  readonly userId: string
  readonly since: string
  readonly until: string
  readonly radiusMetres: number
  readonly windowMinutes: number
}

export async function trace (token: string, q: TraceQuery): Promise<TraceReply> {
  return await request('POST', '/v1/trace', traceReplySchema, { token, body: q })
}

export interface LocationPoint { readonly lat: number, readonly lon: number, readonly time: number }

/**
 * A user's location points in [since, until), oldest first, from the plain
 * segments of their chain's location entries. The window is applied to the
 * points' own times, not to the entries' (a phone may upload a day's trail
 * later), so every location entry is read.
 */
export async function locationPoints (token: string, userId: string, since: string, until: string): Promise<LocationPoint[]> {
  const reply = await request('GET', `/v1/users/${encodeURIComponent(userId)}/entries`, entriesReplySchema, { token, query: { type: 'location' } })
  const lo = Date.parse(since)
  const hi = Date.parse(until)
  const points: LocationPoint[] = []
  for (const entry of reply.entries) {
    const plain = entry.plain as { points?: Array<{ lat?: unknown, lon?: unknown, time?: unknown }> } | null
    for (const p of plain?.points ?? []) {
      if (typeof p.lat === 'number' && typeof p.lon === 'number' && typeof p.time === 'number' && p.time >= lo && p.time < hi) {
        points.push({ lat: p.lat, lon: p.lon, time: p.time })
      }
    }
  }
  return points.sort((a, b) => a.time - b.time)
}

/** The newest line of this node's audit log whose target is `target`, among the last lines; undefined if none. */
export async function auditLineOf (token: string, target: string): Promise<AuditLine | undefined> {
  const reply = await request('GET', '/v1/audit', auditReplySchema, { token, query: { limit: 200 } })
  return [...reply.lines].reverse().find((line) => line.target === target)
}
