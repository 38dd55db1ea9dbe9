/**
 * What several route modules share in reading a request: instants as
 * milliseconds, the audit target of a route under /v1/users/{id}, and the
 * prefix that makes a library's BAD_REQUEST name the request part its field
 * came from (`query.until`, `body.since`), the way validation errors do.
 * The schemas themselves are the API contract's (api/).
 */
import { NodeError } from '../errors.js'

export { instantSchema } from '../api/common.js'

/** Milliseconds since the epoch of an instant that passed instantSchema. */
export function toMs (text: string | undefined): number | undefined {
  return text === undefined ? undefined : Date.parse(text)
}

/** The audit target of a route under /v1/users/{id}: read before validation, so the raw path parameter. */
export function userTarget (request: { params: unknown }): string {
  return `user:${(request.params as { id?: string }).id ?? ''}`
}

/** Runs `fn`; a BAD_REQUEST it throws (or its promise rejects with) names its field within `part` (`query.since`), as validation errors do. */
export function inPart<T> (part: 'query' | 'body', fn: () => T): T {
  const within = (err: unknown): unknown => {
    if (err instanceof NodeError && err.code === 'BAD_REQUEST' && err.field !== undefined && !err.field.startsWith(`${part}.`)) {
      return new NodeError('BAD_REQUEST', `${part}.${err.message}`, { field: `${part}.${err.field}`, cause: err })
    }
    return err
  }
  try {
    const result = fn()
    return (result instanceof Promise ? result.catch((err: unknown) => { throw within(err) }) : result) as T
  } catch (err) {
    throw within(err)
  }
}
