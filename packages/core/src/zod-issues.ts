/**
 * Turns a zod error into one telling sentence that names the field, as the
 * rest of the project does (`plain.observations.0.code: …`). The one
 * translator of zod issues: core's entry and registry parsers, the network's
 * codecs, the node's config loader, request validator and audit lines all
 * report a schema failure through it, so a field is named the same way
 * everywhere.
 */
import type { z } from 'zod'

export interface IssueSummary {
  /** Dotted path of the offending field ('' for the value itself). */
  readonly field: string
  readonly message: string
}

export type SchemaIssue = z.core.$ZodIssue

/**
 * For a union that matched no branch, the branch that came closest: the one
 * with the fewest issues, where an unknown key weighs three (a key that
 * belongs to another branch is a strong sign the caller meant that branch:
 * `{ userId: 'x' }` is a user login with a bad id, not an API-key login
 * missing its key) and a wrong type of the value itself two (a branch whose
 * type matched, a string too long, is closer than one of another type).
 */
function closestBranch (branches: readonly SchemaIssue[][]): SchemaIssue[] | undefined {
  const cost = (i: SchemaIssue): number => i.code === 'unrecognized_keys' ? 3 * i.keys.length : i.code === 'invalid_type' && i.path.length === 0 ? 2 : 1
  const weight = (issues: SchemaIssue[]): number => issues.reduce((n, i) => n + cost(i), 0)
  let best: SchemaIssue[] | undefined
  for (const branch of branches) {
    if (branch.length > 0 && (best === undefined || weight(branch) < weight(best))) best = branch
  }
  return best
}

function summarise (issue: SchemaIssue, prefix: ReadonlyArray<PropertyKey>): IssueSummary {
  const path = [...prefix, ...issue.path]
  if (issue.code === 'invalid_union') {
    const branch = closestBranch(issue.errors)
    const inner = branch?.[0]
    if (inner !== undefined) return summarise(inner, path)
  }
  // An unknown key is reported at its parent; name the key itself.
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]
    const field = [...path, ...(key === undefined ? [] : [key])].map(String).join('.')
    return { field, message: 'unknown field' }
  }
  return { field: path.map(String).join('.'), message: issue.message }
}

/**
 * The first issue of `error` (or the one `pick` chooses: a caller may rank
 * some issues above others), as a field and a message (never the offending
 * value). `prefix` is prepended to the field's path (`body`, `plain`).
 */
export function summariseIssues (
  error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = [], pick?: (issues: readonly SchemaIssue[]) => SchemaIssue | undefined
): IssueSummary {
  const chosen = pick?.(error.issues) ?? error.issues[0]
  if (chosen === undefined) return { field: prefix.map(String).join('.'), message: 'invalid' }
  return summarise(chosen, prefix)
}

/** `field: message`, or just the message when there is no field. */
export function describeIssue (summary: IssueSummary): string {
  return summary.field === '' ? summary.message : `${summary.field}: ${summary.message}`
}
