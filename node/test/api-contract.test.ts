/**
 * The API contract (src/api): one module a browser can load (no Fastify, no
 * Node built-in anywhere in what it pulls in at run time), exported as
 * `@healthchain/node/api`, and the source of the OpenAPI document of every
 * route, insight replies included.
 */
import { readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import * as contract from '@healthchain/node/api'
import {
  createAccessPolicy, createAuditService, createBatchService, createFhirService, createInsightService, createRegistryService,
  type ChainService, type RouteModule
} from '../src/index.js'
import { registerAuditRoutes } from '../src/http/routes/audit.js'
import { registerBatchRoutes } from '../src/http/routes/batch.js'
import { registerChainRoutes } from '../src/http/routes/chains.js'
import { registerCustodyRoutes } from '../src/http/routes/custody.js'
import { registerFhirRoutes } from '../src/http/routes/fhir.js'
import { registerInsightRoutes } from '../src/http/routes/insights.js'
import { registerNetworkRoutes } from '../src/http/routes/network.js'
import { registerRegistryRoutes } from '../src/http/routes/registry.js'
import type { CustodyService } from '../src/services/custody.js'
import type { NetworkService } from '../src/services/network.js'
import { startTestApi, type TestApi, type TestApiParts } from './helpers/api.js'

const API_INDEX = fileURLToPath(new URL('../src/api/index.ts', import.meta.url))

/** Every module specifier `file` imports at run time (type-only imports are erased), followed through relative imports. */
async function runtimeImports (file: string, seen = new Set<string>()): Promise<Set<string>> {
  const packages = new Set<string>()
  if (seen.has(file)) return packages
  seen.add(file)
  const text = await readFile(file, 'utf8')
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    if (match[1] !== undefined) continue
    const specifier = match[2]!
    if (specifier.startsWith('.')) {
      for (const p of await runtimeImports(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')), seen)) packages.add(p)
    } else {
      packages.add(specifier)
    }
  }
  return packages
}

describe('the API contract', () => {
  it('pulls in no Fastify and no Node built-in', async () => {
    const packages = [...await runtimeImports(API_INDEX)]
    expect(packages.length).toBeGreaterThan(0)
    const builtins = new Set(builtinModules)
    expect(packages.filter((p) => p.startsWith('node:') || builtins.has(p) || p.includes('fastify'))).toEqual([])
    expect(packages.every((p) => p === 'zod' || p.startsWith('@healthchain/core'))).toBe(true)
  })

  it('is the package entry point @healthchain/node/api, with user ids parsed by one schema', () => {
    expect(contract.userParamsSchema.safeParse({ id: 'a'.repeat(32) }).success).toBe(true)
    const refused = contract.userIdSchema.safeParse('A'.repeat(32))
    expect(refused.success).toBe(false)
    expect(refused.error?.issues[0]?.message).toBe('expected a 32-character user id')
    expect(contract.errorBodySchema.parse({ error: { code: 'FORBIDDEN', message: 'no' } })).toEqual({ error: { code: 'FORBIDDEN', message: 'no' } })
  })
})

describe('the OpenAPI document', () => {
  let api: TestApi | undefined
  afterEach(async () => { await api?.stop(); api = undefined })

  // The routes only call their services when a request comes; the document needs none.
  const allRoutes = (parts: TestApiParts): RouteModule[] => {
    const ledger = { hasChain: () => false, chain: async () => { throw new Error('no chains here') } } as never
    const access = createAccessPolicy({ ledger })
    const chains = {} as ChainService
    return [
      (app) => { registerChainRoutes(app, { sessions: parts.sessions, chains }) },
      (app) => { registerCustodyRoutes(app, { sessions: parts.sessions, custody: {} as CustodyService }) },
      (app) => { registerFhirRoutes(app, { sessions: parts.sessions, fhir: createFhirService({ chains }) }) },
      (app) => {
        registerBatchRoutes(app, { sessions: parts.sessions, batch: createBatchService({ chains }, { maxItems: 500 }), audit: parts.audit, bodyLimit: 1 << 24 })
      },
      (app) => { registerInsightRoutes(app, { sessions: parts.sessions, insights: createInsightService({ index: {} as never, access }) }) },
      (app) => { registerRegistryRoutes(app, { registry: createRegistryService({ ledger }) }) },
      (app) => { registerAuditRoutes(app, { sessions: parts.sessions, audit: createAuditService({ audit: parts.audit }) }) },
      (app) => { registerNetworkRoutes(app, { sessions: parts.sessions, network: {} as NetworkService }) }
    ]
  }

  it('lists every route, with the contract\'s reply schemas and summaries that cite no design section', async () => {
    api = await startTestApi({ routes: allRoutes })
    const res = await api.request('GET', '/v1/openapi.json')
    expect(res.status).toBe(200)
    const paths = res.body.paths as Record<string, Record<string, {
      summary?: string, responses: Record<string, { content?: Record<string, { schema: unknown }> }>
    }>>
    expect(Object.keys(paths).sort()).toEqual([
      '/v1/audit', '/v1/entries/batch', '/v1/fhir', '/v1/network', '/v1/openapi.json', '/v1/registry', '/v1/session', '/v1/session/challenge', '/v1/statistics', '/v1/status', '/v1/trace',
      '/v1/users', '/v1/users/{id}', '/v1/users/{id}/chain-key', '/v1/users/{id}/continuation', '/v1/users/{id}/entries', '/v1/users/{id}/exercise', '/v1/users/{id}/fhir',
      '/v1/users/{id}/head', '/v1/users/{id}/series', '/v1/users/{id}/verify'
    ])
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(op.summary, `${method} ${path}`).toBeDefined()
        expect(op.summary, `${method} ${path}`).not.toMatch(/\bS[12]\b|DESIGN|§|#\d/)
      }
    }
    const replyOf = (path: string, method: string) => JSON.stringify(paths[path]![method]!.responses['200']!.content!['application/json']!.schema)
    expect(replyOf('/v1/users/{id}/series', 'get')).toContain('otherUnits')
    expect(replyOf('/v1/users/{id}/exercise', 'get')).toContain('heartRateMean')
    expect(replyOf('/v1/trace', 'post')).toContain('minutesApart')
    expect(replyOf('/v1/statistics', 'get')).toContain('suppressedBuckets')
    expect(replyOf('/v1/users/{id}/head', 'get')).toContain('cosignatures')
    expect(replyOf('/v1/users', 'get')).toContain('custodian')
    expect(replyOf('/v1/network', 'get')).toContain('custodianOf')
    expect(replyOf('/v1/users/{id}/continuation', 'get')).toContain('headSig')
    expect(replyOf('/v1/entries/batch', 'post')).toContain('duplicate')
  })
})
