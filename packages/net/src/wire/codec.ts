/**
 * The one codec shape every network message uses.
 *
 * A message is a canonical CBOR map (core's encodeCanonical/decodeCanonical:
 * one value, one encoding) with a version `v` — 1 for every message family
 * (wire version 1), except a family that has a later version beside it (the
 * ForkProof family: version 2 is the consistency fork proof, version 3 the move fork proof) — validated by
 * a zod strict schema and bounded by a byte limit. Decoding checks, in this
 * order, and stops at the first failure:
 *
 *   1. size            > maxBytes                              TOO_LARGE
 *   2. CBOR            not canonical CBOR, or not a map        MALFORMED
 *   3. version         `v` a number other than the codec's     UNSUPPORTED_VERSION
 *                      (top level, or in a nested head)
 *   4. schema          missing, unknown or invalid field       INVALID_FIELD (field = dotted path)
 *                      (an embedded block over its limit:      TOO_LARGE)
 *   5. message rules   e.g. a fork proof's relation/order      per message
 *
 * Signatures are never checked by a decoder: each message family has its own
 * verify/assert functions, so relaying, storing and verifying stay separate
 * steps (as Hypercore keeps its codecs apart from its verifier).
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical, summariseIssues, type SchemaIssue } from '@healthchain/core'
import { NetError, type NetErrorCode } from '../errors.js'

export const WIRE_VERSION = 1

/** Codes a schema issue may carry in its params instead of INVALID_FIELD, strongest first. */
const ISSUE_CODES = ['UNSUPPORTED_VERSION', 'TOO_LARGE'] as const
type IssueCode = typeof ISSUE_CODES[number]

/** `v` of a message of `version`: must be a number (else INVALID_FIELD), and `version` (else UNSUPPORTED_VERSION). */
export function versionSchemaOf<V extends number> (version: V): z.ZodType<V> {
  return z.number().pipe(z.custom<V>((v) => v === version, {
    message: `unsupported version (this build speaks ${version})`,
    params: { code: 'UNSUPPORTED_VERSION' satisfies IssueCode }
  }))
}

/** `v` of a wire version 1 message. */
export const versionSchema = versionSchemaOf(WIRE_VERSION)

function issueCode (issue: SchemaIssue): IssueCode | undefined {
  if (issue.code !== 'custom') return undefined
  const code = (issue.params as { code?: unknown } | undefined)?.code
  return ISSUE_CODES.find((c) => c === code)
}

/** Turns the most telling zod issue (a version, then a size, then the first) into a NetError naming the field. */
export function schemaError (error: z.ZodError, what: string): NetError {
  const code: NetErrorCode = ISSUE_CODES.find((candidate) => error.issues.some((i) => issueCode(i) === candidate)) ?? 'INVALID_FIELD'
  const pick = (issues: readonly SchemaIssue[]): SchemaIssue | undefined => issues.find((i) => issueCode(i) === code)
  const { field, message } = summariseIssues(error, [], code === 'INVALID_FIELD' ? undefined : pick)
  return new NetError(code, `${what}: ${field === '' ? '' : `${field}: `}${message}`, { field })
}

export interface Codec<T> {
  /** The message's name in errors, e.g. `SignedHead`. */
  readonly name: string
  /** The largest encoding accepted, in bytes. */
  readonly maxBytes: number
  /** Validates `value` (INVALID_FIELD, …) and returns its canonical encoding (TOO_LARGE over maxBytes). */
  encode (value: T): Uint8Array
  /** Decodes and validates bytes; throws NetError with the codes in this file's header. */
  decode (bytes: Uint8Array): T
  /** Validates a decoded or constructed value (steps 3–5). */
  parse (value: unknown): T
}

export interface CodecInit<S extends z.ZodType> {
  readonly name: string
  /** The `v` the schema requires; default 1 (WIRE_VERSION). */
  readonly version?: number
  readonly schema: S
  readonly maxBytes: number
  /** Rules beyond the schema (step 5); throws NetError. */
  readonly check?: (value: z.output<S>) => void
}

export function defineCodec<S extends z.ZodType> (init: CodecInit<S>): Codec<z.output<S>> {
  const { name, schema, maxBytes, check } = init
  const version = init.version ?? WIRE_VERSION

  function checkSize (length: number): void {
    if (length > maxBytes) throw new NetError('TOO_LARGE', `${name} is ${length} bytes, the limit is ${maxBytes}`)
  }

  function parse (value: unknown): z.output<S> {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      throw new NetError('MALFORMED', `${name} is a map`)
    }
    // Before the schema: a later version may have other fields, and must be told apart from a bad v1 message.
    const v = (value as { v?: unknown }).v
    if (typeof v === 'number' && v !== version) {
      throw new NetError('UNSUPPORTED_VERSION', `${name} version ${v} is not supported (expected ${version})`, { field: 'v' })
    }
    const result = schema.safeParse(value)
    if (!result.success) throw schemaError(result.error, name)
    check?.(result.data)
    return result.data
  }

  return {
    name,
    maxBytes,
    parse,
    encode (value) {
      const bytes = encodeCanonical(parse(value))
      checkSize(bytes.length)
      return bytes
    },
    decode (bytes) {
      if (!(bytes instanceof Uint8Array)) throw new NetError('MALFORMED', `${name}: expected bytes`)
      checkSize(bytes.length)
      let value: unknown
      try {
        value = decodeCanonical(bytes)
      } catch (cause) {
        throw new NetError('MALFORMED', `${name} is not canonical CBOR`, { cause })
      }
      return parse(value)
    }
  }
}

/** Bytewise comparison: negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}
