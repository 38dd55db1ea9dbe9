/**
 * Request parameters several route modules share: instants (ISO 8601 with
 * a `Z` or an offset, as every time query takes them), and the prefix that
 * makes a library's BAD_REQUEST name the request part its field came from
 * (`query.until`, `body.since`), the way validation errors do.
 */
import { z } from 'zod'
import { NodeError } from '../errors.js'

/** An instant: ISO 8601 date and time with `Z` or an offset (`2026-03-01T09:30:00+01:00`). */
export const instantSchema = z.iso.datetime({ offset: true })

/** Milliseconds since the epoch of an instant that passed instantSchema. */
export function toMs (text: string | undefined): number | undefined {
  return text === undefined ? undefined : Date.parse(text)
}

/** Runs `fn`; a BAD_REQUEST it throws names its field within `part` (`query.since`), as validation errors do. */
export function inPart<T> (part: 'query' | 'body', fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof NodeError && err.code === 'BAD_REQUEST' && err.field !== undefined && !err.field.startsWith(`${part}.`)) {
      throw new NodeError('BAD_REQUEST', `${part}.${err.message}`, { field: `${part}.${err.field}`, cause: err })
    }
    throw err
  }
}
