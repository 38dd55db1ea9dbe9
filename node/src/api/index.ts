/**
 * The HTTP API's contract: every request and reply schema (zod), defined
 * once. The routes declare them (validation, serialization and the OpenAPI
 * document), and clients (the CLI, a browser console) parse what they get
 * with the same ones. Nothing here imports Fastify or a Node built-in.
 *
 *   import { chainSummarySchema, type ChainSummary } from '@healthchain/node/api'
 */
export * from './common.js'
export * from './chains.js'
export * from './batch.js'
export * from './node.js'
export * from './insights.js'
export * from './fhir.js'
export * from './login.js'
export * from './network.js'
export * from './enrolments.js'
export * from './custody.js'
export * from './health.js'
// The built-in reference ranges (plain data, browser-safe): the console marks out-of-range values with the node's own table.
export { REFERENCE_RANGES, rangeFor, type ReferenceEntry } from '../query-index/reference-ranges.js'
