/**
 * One audit-log line (wire format version 1): a canonical CBOR map, as
 * everything else the project stores,
 *
 *   { v: 1, time, actor, role?, action, target?, from, result, code?, count?, since? }
 *
 * - time:   ISO 8601 UTC with milliseconds, when the node decided;
 * - actor:  `key:<api key id>` (staff), `user:<user id>`, `governance`
 *           (a registry entry signed by the governance key), or
 *           `anonymous` (a refused request that named nobody; a refused
 *           login names whom it claimed to be);
 * - role:   the actor's role when known (absent for refused logins);
 * - action: `login`, `read`, `write`, `enrol` or `registry`;
 * - target: what was acted on, e.g. `user:<user id>` (absent for logins);
 * - from:   the remote address of the request;
 * - result: `granted` or `refused`;
 * - code:   the stable error code of a refusal (e.g. UNKNOWN_KEY);
 * - count, since: present together, on refusals only. Such a line stands for
 *           `count` refusals alike (same source, action and code) between
 *           `since` and `time`, counted instead of written one by one
 *           (audit-aggregator.ts): `from` is then the source they came from
 *           (an address, an IPv6 /64, a libp2p host) and actor, role and
 *           target are kept only when every one of them had the same. A line
 *           without `count` stands for one.
 *
 * Lines never hold a secret: no API key secret, no token, no nonce, no
 * signature, no health data. The schema backs this up by refusing any text
 * that looks like an API key or a token.
 */
import { decodeCanonical, encodeCanonical, isUserId, ROLES, type Role } from '@healthchain/core'
import { z } from 'zod'
import { NodeError } from '../errors.js'
import { describeIssue, summariseIssues } from '../zod-issues.js'

export const AUDIT_LINE_VERSION = 1
export const AUDIT_ACTIONS = ['login', 'read', 'write', 'enrol', 'registry'] as const
export type AuditAction = typeof AUDIT_ACTIONS[number]
export const AUDIT_RESULTS = ['granted', 'refused'] as const
export type AuditResult = typeof AUDIT_RESULTS[number]
/** A line is small; anything bigger is a bug (or someone smuggling data into `target`). */
export const MAX_AUDIT_LINE_BYTES = 1024

/** Text that could be a credential: never written to the log. */
const SECRET_LOOKING = /hc[kt]_/i
const PRINTABLE = /^[\x20-\x7e]*$/

function text (max: number): z.ZodString {
  return z.string().max(max).regex(PRINTABLE, { error: 'expected printable ASCII' })
    .refine((value) => !SECRET_LOOKING.test(value), { error: 'looks like a credential; credentials are never logged' })
}

export const auditLineSchema = z.strictObject({
  v: z.literal(AUDIT_LINE_VERSION),
  time: z.iso.datetime({ precision: 3 }),
  actor: z.union([
    z.literal('anonymous'),
    z.literal('governance'),
    z.string().regex(/^key:[0-9a-f]{16}$/),
    z.string().refine((actor) => actor.startsWith('user:') && isUserId(actor.slice(5)))
  ], { error: 'expected anonymous, governance, key:<api key id> or user:<user id>' }),
  role: z.enum(ROLES).optional(),
  action: z.enum(AUDIT_ACTIONS),
  target: text(200).min(1).optional(),
  from: text(100).min(1),
  result: z.enum(AUDIT_RESULTS),
  code: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/).optional(),
  count: z.int().min(1).optional(),
  since: z.iso.datetime({ precision: 3 }).optional()
}).check((ctx) => {
  const line = ctx.value
  if ((line.count === undefined) !== (line.since === undefined)) {
    ctx.issues.push({ code: 'custom', input: line, path: [line.count === undefined ? 'count' : 'since'], message: 'count and since come together' })
  } else if (line.count !== undefined && line.result !== 'refused') {
    ctx.issues.push({ code: 'custom', input: line, path: ['count'], message: 'only refusals are counted' })
  }
})

export interface AuditLine {
  readonly v: 1
  readonly time: string
  readonly actor: string
  readonly role?: Role
  readonly action: AuditAction
  readonly target?: string
  readonly from: string
  readonly result: AuditResult
  readonly code?: string
  /** Refusals this line stands for, when more than its own (with `since`). */
  readonly count?: number
  /** When the first refusal `count` includes happened. */
  readonly since?: string
}

/** A line before it is written: the log adds `v` (and `time` when not given). */
export type AuditLineInput = Omit<AuditLine, 'v' | 'time'> & { readonly time?: string }

function check (value: unknown): AuditLine {
  const result = auditLineSchema.safeParse(value)
  if (!result.success) {
    const summary = summariseIssues(result.error)
    throw new NodeError('BAD_AUDIT_LINE', `audit line: ${describeIssue(summary)}`, { field: summary.field })
  }
  return result.data as AuditLine
}

export function encodeAuditLine (line: AuditLine): Uint8Array {
  const bytes = encodeCanonical(check(line))
  if (bytes.length > MAX_AUDIT_LINE_BYTES) throw new NodeError('BAD_AUDIT_LINE', `audit line: ${bytes.length} bytes, at most ${MAX_AUDIT_LINE_BYTES}`)
  return bytes
}

export function decodeAuditLine (bytes: Uint8Array): AuditLine {
  if (bytes.length > MAX_AUDIT_LINE_BYTES) throw new NodeError('BAD_AUDIT_LINE', `audit line: ${bytes.length} bytes, at most ${MAX_AUDIT_LINE_BYTES}`)
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (cause) {
    throw new NodeError('BAD_AUDIT_LINE', 'audit line: not canonical CBOR', { cause })
  }
  return Object.freeze(check(value))
}
