/**
 * The HTTP bench's batch figures: POST /v1/entries/batch (the API's items)
 * and POST /v1/fhir (a FHIR transaction Bundle of Observations), each
 * request carrying `items` exams spread over all the bench's users, from
 * `connections` connections (the load generator in its own process,
 * http-load.ts). One request is sent and checked first: every item must
 * be written, or the figures would count refusals as writes.
 *
 * Counted: entries per second (answered requests × items ÷ seconds), the
 * latency of one request (p50, p99), and the server process's CPU per entry.
 */
import type { UserId } from '@healthchain/core'
import { startCpuMeter, round, type CpuFigures, type LatencyFigures } from './cpu-meter.js'
import { benchExamPlain, benchExamSealed } from './fixtures.js'
import { runLoad } from './http-load.js'
import { profiled } from './profile.js'

export interface BatchFigures {
  readonly items: number
  readonly connections: number
  readonly entriesPerSecond: number
  readonly batches: number
  /** Latency of one whole request. */
  readonly latencyMs: LatencyFigures
  readonly cpu: CpuFigures
  readonly requestBytes: number
  /** Connection errors, timeouts and answers other than 200. */
  readonly failures: number
}

export interface BatchBenchOptions {
  readonly kind: 'items' | 'bundle'
  readonly url: string
  readonly token: string
  readonly users: readonly UserId[]
  readonly items: number
  readonly connections: number
  readonly warmupSeconds: number
  readonly seconds: number
}

/** A blood-pressure panel as a hospital system sends it, with a note (sealed) for the patient `user`. */
function observation (user: UserId): object {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }], text: 'Blood pressure' },
    subject: { reference: `Patient/${user}` },
    effectiveDateTime: '2026-03-01T09:30:00Z',
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 128, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 82, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }
    ],
    note: [{ text: benchExamSealed.notes }]
  }
}

/** The request body: `items` exams, user after user round robin from `offset`. */
export function batchBody (kind: BatchBenchOptions['kind'], users: readonly UserId[], items: number, offset = 0): string {
  const userAt = (i: number): UserId => users[(offset + i) % users.length]!
  if (kind === 'items') {
    return JSON.stringify({ items: Array.from({ length: items }, (_, i) => ({ user: userAt(i), type: 'exam', plain: benchExamPlain, sealed: benchExamSealed })) })
  }
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: items }, (_, i) => ({ resource: observation(userAt(i)), request: { method: 'POST', url: 'Observation' } }))
  })
}

const PATH = { items: '/v1/entries/batch', bundle: '/v1/fhir?values=sealed' } as const
const CONTENT_TYPE = { items: 'application/json', bundle: 'application/fhir+json' } as const

export async function measureBatches (opts: BatchBenchOptions): Promise<BatchFigures> {
  // Several bodies, each starting at another user, so the chains a request touches change from one request to the next.
  const bodies = Array.from({ length: 8 }, (_, i) => batchBody(opts.kind, opts.users, opts.items, i * 7))
  await checkOne(opts, bodies[0]!)
  const requests = bodies.map((body) => ({ path: PATH[opts.kind], body }))
  const spec = { url: opts.url, token: opts.token, connections: opts.connections, contentType: CONTENT_TYPE[opts.kind], requests }
  await runLoad({ ...spec, seconds: opts.warmupSeconds })
  const cpu = startCpuMeter()
  const result = await profiled(`http-${opts.kind}`, async () => await runLoad({ ...spec, seconds: opts.seconds }))
  const batches = result.statuses['200'] ?? 0
  const entries = batches * opts.items
  return {
    items: opts.items,
    connections: opts.connections,
    entriesPerSecond: round(entries / result.duration, 0),
    batches,
    latencyMs: result.latencyMs,
    cpu: cpu.figures(entries, result.duration),
    requestBytes: Buffer.byteLength(bodies[0]!),
    failures: result.errors + result.timeouts + result.non2xx
  }
}

/** One request, every item of which must be written: a refused item would be counted as a write otherwise. */
async function checkOne (opts: BatchBenchOptions, body: string): Promise<void> {
  const response = await fetch(opts.url + PATH[opts.kind], {
    method: 'POST', headers: { authorization: `Bearer ${opts.token}`, 'content-type': CONTENT_TYPE[opts.kind] }, body
  })
  const reply = await response.json() as { written?: number, entry?: Array<{ response: { status: string } }> }
  const written = opts.kind === 'items' ? reply.written : reply.entry?.filter((e) => e.response.status === '201 Created').length
  if (response.status !== 200 || written !== opts.items) {
    throw new Error(`bench: a ${opts.kind} batch was not written whole: ${response.status} ${JSON.stringify(reply).slice(0, 400)}`)
  }
}
