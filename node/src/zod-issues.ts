/**
 * Turns a zod error into one telling sentence that names the field, as the
 * rest of the project does (`plain.observations.0.code: …`). Used by the
 * config loader and by the HTTP request validator.
 */
import type { z } from 'zod'

export interface IssueSummary {
  /** Dotted path of the offending field ('' for the value itself). */
  readonly field: string
  readonly message: string
}

type Issue = z.core.$ZodIssue

/**
 * For a union that matched no branch, the branch that came closest: the one
 * with the fewest issues, where an unknown key weighs three (a key that
 * belongs to another branch is a strong sign the caller meant that branch:
 * `{ userId: 'x' }` is a user login with a bad id, not an API-key login
 * missing its key).
 */
function closestBranch (branches: readonly Issue[][]): Issue[] | undefined {
  const weight = (issues: Issue[]): number => issues.reduce((n, i) => n + (i.code === 'unrecognized_keys' ? 3 * i.keys.length : 1), 0)
  let best: Issue[] | undefined
  for (const branch of branches) {
    if (branch.length > 0 && (best === undefined || weight(branch) < weight(best))) best = branch
  }
  return best
}

function summarise (issue: Issue, prefix: ReadonlyArray<PropertyKey>): IssueSummary {
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

/** The first issue of `error`, as a field and a message (never the offending value). */
export function summariseIssues (error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): IssueSummary {
  const first = error.issues[0]
  if (first === undefined) return { field: prefix.map(String).join('.'), message: 'invalid' }
  return summarise(first, prefix)
}

/** `field: message`, or just the message when there is no field. */
export function describeIssue (summary: IssueSummary): string {
  return summary.field === '' ? summary.message : `${summary.field}: ${summary.message}`
}
