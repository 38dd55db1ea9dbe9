/**
 * The continuation protocol's wire format against its known answers
 * (vectors/continuation.json, written by make-vectors.ts): every valid
 * message decodes to its value and re-encodes to the same bytes; every
 * must-reject input is refused with its code (and field, when named).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { hexToBytes } from '@noble/hashes/utils.js'
import { bytesToHex } from '@healthchain/core'
import { NetError } from '../src/errors.js'
import { continuationRequestCodec, continuationResponseCodec, encodeContinuationResponse, MAX_CONTINUATION_RESPONSE_BYTES } from '../src/wire/continuation.js'
import type { Codec } from '../src/wire/codec.js'

type Part = string | { repeat: string, count: number }
interface Input { hex?: string, parts?: Part[] }
interface ValidCase extends Input { name: string, decoder: string, value?: unknown }
interface RejectCase extends Input { name: string, decoder: string, code: string, field?: string }
interface VectorFile { valid: ValidCase[], rejects: RejectCase[] }

const file = JSON.parse(readFileSync(new URL('./vectors/continuation.json', import.meta.url), 'utf8')) as VectorFile
const CODECS: Record<string, Codec<unknown>> = Object.fromEntries(
  [continuationRequestCodec, continuationResponseCodec].map((c) => [c.name, c as Codec<unknown>])
)

function inputOf (v: Input): Uint8Array {
  if (v.hex !== undefined) return hexToBytes(v.hex)
  return hexToBytes((v.parts ?? []).map((p) => typeof p === 'string' ? p : p.repeat.repeat(p.count)).join(''))
}

function toTagged (value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) }
  if (Array.isArray(value)) return value.map(toTagged)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toTagged(v)]))
  }
  return value
}

describe('continuation wire vectors', () => {
  it.each(file.valid.map((v) => [v.name, v] as const))('decodes and re-encodes %s', (_name, v) => {
    const codec = CODECS[v.decoder]!
    const bytes = inputOf(v)
    const decoded = codec.decode(bytes)
    expect(toTagged(decoded)).toEqual(v.value)
    expect(bytesToHex(codec.encode(decoded))).toBe(bytesToHex(bytes))
  })

  it.each(file.rejects.map((v) => [v.name, v] as const))('refuses %s', (_name, v) => {
    const codec = CODECS[v.decoder]!
    let err: unknown
    try {
      codec.decode(inputOf(v))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(NetError)
    expect((err as NetError).code).toBe(v.code)
    if (v.field !== undefined) expect((err as NetError).field).toBe(v.field)
  })

  it('has must-reject cases for both messages and every decoding stage', () => {
    expect(new Set(file.rejects.map((r) => r.decoder))).toEqual(new Set(['ContinuationRequest', 'ContinuationResponse']))
    expect(new Set(file.rejects.map((r) => r.code))).toEqual(new Set(['INVALID_FIELD', 'MALFORMED', 'TOO_LARGE', 'UNSUPPORTED_VERSION']))
  })

  it('fits the longest offer (32 lineage links) in the response limit', () => {
    const longest = file.valid.find((v) => v.name === 'offer, 32 lineage links')!
    const decoded = continuationResponseCodec.decode(inputOf(longest))
    expect(encodeContinuationResponse(decoded).length).toBeLessThan(MAX_CONTINUATION_RESPONSE_BYTES / 2)
  })
})
