/**
 * Request validation with zod: the route's schema for each part (body,
 * querystring, params, headers) parses the input, and a failure is a
 * NodeError BAD_REQUEST naming the field with its part, e.g.
 * `body.signature: expected a 64-byte Ed25519 signature in hex` — never the
 * offending value, which could be a secret.
 */
import type { FastifySchemaCompiler } from 'fastify'
import type { z } from 'zod'
import { NodeError } from '../errors.js'
import { describeIssue, summariseIssues } from '../zod-issues.js'

const PART_NAMES: Readonly<Record<string, string>> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' }

export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = PART_NAMES[httpPart ?? ''] ?? 'request'
  return (data: unknown) => {
    const result = schema.safeParse(data)
    if (result.success) return { value: result.data }
    const summary = summariseIssues(result.error, [part])
    return { error: new NodeError('BAD_REQUEST', describeIssue(summary), { field: summary.field }) }
  }
}
