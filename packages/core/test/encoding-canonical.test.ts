/**
 * decodeCanonical checks canonical form while decoding, without re-encoding.
 * These tests hold it to the verdict of the former implementation (strict
 * decode, then re-encode and compare bytes), kept below as the oracle: on
 * canonical encodings of random values, on thousands of mutations of them,
 * on every float16 and many float32/float64 bit patterns, and on one
 * targeted case per rule.
 */
import { describe, expect, it } from 'vitest'
import { decode, encode, rfc8949EncodeOptions, Token, Type, type EncodeOptions, type TypeEncoder } from 'cborg'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { CoreError, MAX_NESTING, decodeCanonical, encodeCanonical } from '@healthchain/core'
import { craft, craftEncode } from './helpers/cbor-craft.js'
import { expectCode } from './helpers/expect-code.js'

// ---------------------------------------------------------------------------
// The oracle: decodeCanonical as it was, decoding strictly then re-encoding.

const strictOptions = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  useMaps: false,
  tags: []
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function oracleDecode (bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CoreError('MALFORMED', 'expected bytes')
  let value: unknown
  try {
    value = decode(bytes, strictOptions)
  } catch (cause) {
    throw new CoreError('MALFORMED', 'not valid CBOR', { cause })
  }
  if (!sameBytes(encodeCanonical(value), bytes)) throw new CoreError('MALFORMED', 'CBOR is not in canonical form')
  return value
}

type Verdict = { ok: true, value: unknown } | { ok: false, code: string }

function verdict (fn: (bytes: Uint8Array) => unknown, bytes: Uint8Array): Verdict {
  try {
    return { ok: true, value: fn(bytes) }
  } catch (err) {
    return { ok: false, code: err instanceof CoreError ? err.code : `not a CoreError: ${String(err)}` }
  }
}

let agreements = { accepted: 0, rejected: 0 }

/** The new decoder's verdict (and value) on `bytes` equals the oracle's; returns whether it accepted. */
function expectSameVerdict (bytes: Uint8Array, label = ''): boolean {
  const expected = verdict(oracleDecode, bytes)
  const actual = verdict(decodeCanonical, bytes)
  if (expected.ok !== actual.ok) {
    expect.fail(`${label}: ${bytesToHex(bytes)}: oracle ${expected.ok ? 'accepts' : 'rejects'}, decodeCanonical ${actual.ok ? 'accepts' : 'rejects'}`)
  }
  if (expected.ok && actual.ok) {
    expect(actual.value).toStrictEqual(expected.value)
    agreements.accepted++
  } else {
    expect(actual).toEqual({ ok: false, code: 'MALFORMED' })
    agreements.rejected++
  }
  return actual.ok
}

// ---------------------------------------------------------------------------
// Random values of the shapes entries use.

function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const rand = prng(0x5eed)
const int = (n: number): number => Math.floor(rand() * n)
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!

const INTEGERS = [
  0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER,
  -1, -23, -24, -25, -256, -257, -65536, -65537, -(2 ** 32), -(2 ** 32) - 1, Number.MIN_SAFE_INTEGER,
  1705309200000
]
const FLOATS = [
  0.5, 1.1, 1e300, -1e300, -0, 65504, 65504.5, 65505, 1.0000001, Math.fround(1.0000001), 5.0, -1.5, 0.1, 100000.5,
  2 ** 53, -(2 ** 53), 2 ** 53 + 2, 2 ** 60, 2 ** 64, 2 ** -24, 3 * 2 ** -24, 2 ** -14, 2 ** -15, 1023 * 2 ** -24,
  2 ** -25, 2 ** -126, 2 ** -149, 1e-300, 5e-324, Number.MAX_VALUE, Math.fround(3.4e38), 3.4e38, 51.50721, 72.4
]
const KEY_CHARS = ['a', 'b', 'k', 'z', 'A', '0', '1', '_', '-', 'é', 'ß', 'ø', '日', '本', '€', '😀', '\u0000', '\u007f', '\u0080', '\uffff']

function randomNumber (): number {
  switch (int(7)) {
    case 0: return pick(INTEGERS)
    case 1: return pick(FLOATS)
    case 2: return int(100000) - 50000
    case 3: return Math.fround((rand() - 0.5) * 10 ** int(12)) // float32-exact
    case 4: return (int(65536) - 32768) / 2 ** int(12) // often float16-exact
    case 5: return (rand() - 0.5) * 10 ** (int(40) - 20)
    default: {
      const view = new DataView(new ArrayBuffer(8))
      view.setUint32(0, int(2 ** 32))
      view.setUint32(4, int(2 ** 32))
      const f = view.getFloat64(0)
      return Number.isFinite(f) ? f : 0.25
    }
  }
}

function randomText (max: number): string {
  let s = ''
  const n = int(max + 1)
  for (let i = 0; i < n; i++) s += rand() < 0.75 ? pick(KEY_CHARS.slice(0, 9)) : pick(KEY_CHARS)
  return s
}

function randomKey (): string {
  switch (int(4)) {
    case 0: return randomText(3)
    case 1: return 'x'.repeat(20 + int(8)) + randomText(2) // about the 23/24-byte head boundary
    case 2: return String(int(30)) // integer-like: JS enumerates these first
    default: return randomText(8)
  }
}

function randomBytes (): Uint8Array {
  const n = pick([0, 1, 16, 23, 24, 32, 64, 255, 256, int(300)])
  return Uint8Array.from({ length: n }, () => int(256))
}

function randomValue (depth: number): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0: case 1: return randomNumber()
    case 2: return randomText(30)
    case 3: return randomBytes()
    case 4: return pick([true, false, null])
    case 5: return 'long text — ' + 'é'.repeat(int(200))
    case 6: return Array.from({ length: int(5) }, () => randomValue(depth + 1))
    default: {
      const out: Record<string, unknown> = {}
      const n = int(8)
      for (let i = 0; i < n; i++) out[randomKey()] = randomValue(depth + 1)
      return out
    }
  }
}

/** -0 has no canonical encoding of its own: it is written as the integer 0. */
function withoutNegativeZero (value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (Array.isArray(value)) return value.map(withoutNegativeZero)
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]))
  }
  return value
}

// ---------------------------------------------------------------------------
// Mutations.

const keyTokenBytes = (entry: unknown): Uint8Array => {
  const key = (entry as Array<Token | Token[]>)[0]!
  const token = Array.isArray(key) ? key[0]! : key
  return encodeCanonical(token.value)
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

const canonicalOptions: EncodeOptions = { ...rfc8949EncodeOptions, ignoreUndefinedProperties: true }

/** Encoders that each write `value` in a way the canonical encoder would not (or, for some values, would). */
const MUTATORS: Array<[string, (value: unknown) => Uint8Array]> = [
  ['reverse key order', (v) => encode(v, { ...canonicalOptions, mapSorter: (a, b) => compareBytes(keyTokenBytes(b), keyTokenBytes(a)) })],
  ['cborg default (length-first) sorter', (v) => encode(v)],
  ['shuffled key order', (v) => {
    const salt = int(1000)
    const h = (e: unknown) => [...keyTokenBytes(e)].reduce((x, c) => Math.imul(x ^ c, 16777619) >>> 0, 2166136261 ^ salt)
    return encode(v, { ...canonicalOptions, mapSorter: (a, b) => h(a) - h(b) })
  }],
  ['keys in insertion order', (v) => craftEncode(v)],
  ['float64 for every float', (v) => encode(v, { ...canonicalOptions, float64: true })],
  ['float32 where exact', (v) => craftEncode(widen(v, (n) => Math.fround(n) === n ? craft.f32(n) : n))],
  ['integers as floats', (v) => encode(v, { ...canonicalOptions, typeEncoders: { number: integersAsFloats(1) } })],
  ['some integers as float64', (v) => encode(v, { ...canonicalOptions, float64: true, typeEncoders: { number: integersAsFloats(0.3) } })]
]

/** Same value, numbers replaced by `f` (and maps re-sorted canonically, so only the numbers differ). */
function widen (value: unknown, f: (n: number) => unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : f(value)
  if (Array.isArray(value)) return value.map((v) => widen(v, f))
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value).sort((a, b) => compareBytes(encodeCanonical(a), encodeCanonical(b)))
    return craft.map(keys.map((k) => [k, widen((value as Record<string, unknown>)[k], f)]))
  }
  return value
}

function integersAsFloats (share: number): TypeEncoder {
  return (n: unknown) => (rand() < share ? new Token(Type.float, n) : null)
}

function byteMutations (bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  const trailing = new Uint8Array(bytes.length + 1 + int(2))
  trailing.set(bytes)
  for (let i = bytes.length; i < trailing.length; i++) trailing[i] = int(256)
  out.push(trailing)
  if (bytes.length > 1) out.push(bytes.subarray(0, int(bytes.length)))
  for (let k = 0; k < 3; k++) {
    const flipped = bytes.slice()
    const flips = 1 + int(3)
    for (let f = 0; f < flips; f++) {
      const at = int(flipped.length)
      flipped[at] = rand() < 0.5 ? flipped[at]! ^ (1 << int(8)) : int(256)
    }
    out.push(flipped)
  }
  return out
}

// ---------------------------------------------------------------------------

describe('decodeCanonical agrees with the re-encoding oracle', () => {
  it('accepts and round-trips the canonical encoding of 3000 random values; every mutation gets the oracle\'s verdict', () => {
    agreements = { accepted: 0, rejected: 0 }
    const mutatedRejected = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(0)
      const bytes = encodeCanonical(value)
      const decoded = decodeCanonical(bytes)
      expect(decoded).toStrictEqual(withoutNegativeZero(value))
      expect(bytesToHex(encodeCanonical(decoded))).toBe(bytesToHex(bytes))
      expectSameVerdict(bytes, 'canonical')
      for (const [name, mutate] of MUTATORS) {
        const mutated = mutate(value)
        if (!expectSameVerdict(mutated, name)) mutatedRejected.set(name, (mutatedRejected.get(name) ?? 0) + 1)
      }
      for (const mutated of byteMutations(bytes)) {
        if (!expectSameVerdict(mutated, 'byte mutation')) mutatedRejected.set('bytes', (mutatedRejected.get('bytes') ?? 0) + 1)
      }
    }
    // the mutations exercised both verdicts, for each kind of mutation that changes the bytes
    expect(agreements.accepted).toBeGreaterThan(10000)
    expect(agreements.rejected).toBeGreaterThan(10000)
    for (const name of ['reverse key order', 'shuffled key order', 'keys in insertion order', 'float64 for every float', 'float32 where exact', 'integers as floats', 'some integers as float64', 'bytes']) {
      expect(mutatedRejected.get(name) ?? 0, name).toBeGreaterThan(100)
    }
  })

  it('every float16 bit pattern, alone and as a map value', () => {
    for (let h = 0; h < 0x10000; h++) {
      expectSameVerdict(new Uint8Array([0xf9, h >> 8, h & 0xff]), 'float16')
    }
    for (let h = 0; h < 0x10000; h += 7) {
      expectSameVerdict(new Uint8Array([0xa1, 0x61, 0x61, 0xf9, h >> 8, h & 0xff]), 'float16 in a map')
    }
  })

  it('float32 bit patterns: every exponent with varied mantissas, and random ones', () => {
    const bytes = new Uint8Array(5)
    bytes[0] = 0xfa
    const view = new DataView(bytes.buffer)
    const mantissas = [0, 1, 0x1000, 0x1fff, 0x2000, 0x3fff, 0x400000, 0x7fe000, 0x7fffff, 0x155555]
    for (let sign = 0; sign < 2; sign++) {
      for (let exp = 0; exp < 256; exp++) {
        for (const m of mantissas) {
          view.setUint32(1, (sign << 31 | exp << 23 | m) >>> 0)
          expectSameVerdict(bytes, 'float32')
        }
      }
    }
    for (let i = 0; i < 50000; i++) {
      view.setUint32(1, int(2 ** 32))
      expectSameVerdict(bytes, 'random float32')
    }
  })

  it('float64 bit patterns: narrowed float16/float32 values, integers, and random ones', () => {
    const bytes = new Uint8Array(9)
    bytes[0] = 0xfb
    const view = new DataView(bytes.buffer)
    for (let h = 0; h < 0x10000; h += 3) {
      const half = decode(new Uint8Array([0xf9, h >> 8, h & 0xff]), { allowNaN: true, allowInfinity: true }) as number
      view.setFloat64(1, half)
      expectSameVerdict(bytes, 'float16 value as float64')
    }
    for (let i = 0; i < 30000; i++) {
      const kind = i % 3
      if (kind === 0) view.setFloat64(1, Math.fround((rand() - 0.5) * 2 ** (int(280) - 140)))
      else if (kind === 1) view.setFloat64(1, Math.round((rand() - 0.5) * 2 ** int(70)))
      else { view.setUint32(1, int(2 ** 32)); view.setUint32(5, int(2 ** 32)) }
      expectSameVerdict(bytes, 'float64')
    }
  })

  it('text of random code points and random bytes (valid and invalid UTF-8)', () => {
    for (let i = 0; i < 20000; i++) {
      const n = int(40)
      const content = Uint8Array.from({ length: n }, () => (rand() < 0.5 ? int(128) : 0x80 + int(128)))
      if (i % 4 === 0 && n >= 3) content.set([0xef, 0xbb, 0xbf], int(n - 2))
      const head = n < 24 ? [0x60 | n] : [0x78, n]
      const bytes = new Uint8Array([...head, ...content])
      expectSameVerdict(bytes, 'text')
      // the same bytes as a map key, before and after another key
      expectSameVerdict(new Uint8Array([0xa2, 0x61, 0x61, 0x01, ...bytes, 0x02]), 'text key after "a"')
    }
    for (let i = 0; i < 3000; i++) {
      let s = ''
      for (let k = int(12); k > 0; k--) s += String.fromCodePoint(pick([int(0x80), int(0x800), int(0x10000), 0x10000 + int(0x100000)]))
      const bytes = encodeCanonical({ [s]: s, k: [s] })
      expectSameVerdict(bytes, 'code points')
    }
  })
})

describe('decodeCanonical refuses each non-canonical form the strict decoder lets through (MALFORMED)', () => {
  const f64 = (n: number) => { const b = new Uint8Array(9); b[0] = 0xfb; new DataView(b.buffer).setFloat64(1, n); return bytesToHex(b) }
  const f32 = (n: number) => { const b = new Uint8Array(5); b[0] = 0xfa; new DataView(b.buffer).setFloat32(1, n); return bytesToHex(b) }
  const rejected: Array<[string, string]> = [
    // map key order: RFC 8949 bytewise order of the encoded keys
    ['keys swapped', 'a2' + '616201' + '616102'],
    ['longer key before a shorter one', 'a2' + '62616101' + '616202'],
    ['23-byte key before a 1-byte key', 'a2' + '77' + '61'.repeat(23) + '01' + '617a02'],
    ['24-byte key (two-byte head) before a 23-byte one', 'a2' + '7818' + '61'.repeat(24) + '01' + '77' + '7a'.repeat(23) + '02'],
    ['"é" (c3a9) before "ab"', 'a2' + '62c3a901' + '62616202'],
    ['out of order in a nested map', 'a1' + '6161' + 'a2' + '616201' + '616102'],
    ['out of order in a map inside an array', '82' + '01' + 'a2' + '616201' + '616102'],
    ['out of order after a nested value', 'a2' + '6162' + 'a1616101' + '6161' + '02'],
    ['integer key', 'a1' + '01' + '02'],
    ['byte-string key', 'a1' + '4161' + '02'],
    ['array key', 'a1' + '80' + '02'],
    // floats: only the width cborg's encoder writes
    ['integral float16 (5.0)', 'f94500'],
    ['float16 -0', 'f98000'],
    ['float16 0', 'f90000'],
    ['65504 as float16 (an integer)', 'f97bff'],
    ['2^53-1 as float64 (a safe integer)', f64(2 ** 53 - 1)],
    ['0.5 as float32', f32(0.5)],
    ['0.5 as float64', f64(0.5)],
    ['float32-exact 1.0000001 as float64', f64(Math.fround(1.0000001))],
    ['2^53 as float64 (its form is float32)', f64(2 ** 53)],
    ['float16 subnormal 3·2^-24 as float16 (cborg writes it as float32)', 'f90003'],
    ['2^-24 as float32', f32(2 ** -24)],
    // text: well-formed UTF-8, no leading BOM
    ['lone continuation byte', '6180'],
    ['invalid UTF-8', '62c328'],
    ['overlong NUL', '62c080'],
    ['overlong three-byte form', '63e08080'],
    ['UTF-16 surrogate', '63eda080'],
    ['beyond U+10FFFF', '64f4908080'],
    ['truncated sequence', '62e282'],
    ['leading BOM', '63efbbbf'],
    ['leading BOM before text', '64efbbbf61'],
    ['leading BOM in a map key', 'a1' + '64efbbbf61' + '01'],
    // simple values, tags, undefined, breaks, trailing bytes (strict cborg already)
    ['undefined', 'f7'],
    ['simple value 0', 'e0'],
    ['simple value 32 (one-byte form)', 'f820'],
    ['false in the one-byte simple form', 'f814'],
    ['tag 0', 'c06161'],
    ['break', 'ff'],
    ['trailing byte', 'a0' + '00']
  ]
  it.each(rejected)('%s', (_name, hex) => {
    const bytes = hexToBytes(hex)
    expect(verdict(oracleDecode, bytes).ok).toBe(false)
    expectCode(() => decodeCanonical(bytes), 'MALFORMED')
  })

  const accepted: Array<[string, string, unknown]> = [
    ['keys in order, shorter first', 'a3' + '617a01' + '62616102' + '77' + '61'.repeat(23) + '03', { z: 1, aa: 2, ['a'.repeat(23)]: 3 }],
    ['"ab" before "é"', 'a2' + '62616201' + '62c3a902', { ab: 1, é: 2 }],
    ['2^53 as float32', 'fa5a000000', 2 ** 53],
    ['float16 subnormal 3·2^-24 as float32', f32(3 * 2 ** -24), 3 * 2 ** -24],
    ['2^-24 as float16', 'f90001', 2 ** -24],
    ['1.1 as float64', f64(1.1), 1.1],
    ['BOM after the first character', '64' + '61efbbbf', 'a\ufeff'],
    ['four-byte UTF-8', '64f09f9880', '😀']
  ]
  it.each(accepted)('control: %s', (_name, hex, value) => {
    const bytes = hexToBytes(hex)
    expect(verdict(oracleDecode, bytes)).toEqual({ ok: true, value })
    expect(decodeCanonical(bytes)).toStrictEqual(value)
  })

  it('text starting with U+FEFF encodes, but its bytes are not canonical to decode (both implementations)', () => {
    const bytes = encodeCanonical({ a: '\ufeffx' })
    expect(verdict(oracleDecode, bytes).ok).toBe(false)
    expectCode(() => decodeCanonical(bytes), 'MALFORMED')
  })

  it('decodes from a Buffer or an offset view, returning byte strings that do not alias the input', () => {
    const bytes = encodeCanonical({ b: new Uint8Array([1, 2, 3]), n: 1.5 })
    const framed = new Uint8Array(bytes.length + 4)
    framed.set(bytes, 2)
    for (const input of [Buffer.from(bytes), framed.subarray(2, 2 + bytes.length)]) {
      const decoded = decodeCanonical(input) as { b: Uint8Array, n: number }
      expect(decoded).toStrictEqual({ b: new Uint8Array([1, 2, 3]), n: 1.5 })
      expect(Buffer.isBuffer(decoded.b)).toBe(false)
      input.fill(0)
      expect([...decoded.b]).toEqual([1, 2, 3])
    }
  })
})

describe('nesting limit', () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1
    for (let i = 0; i < depth; i++) value = [value]
    return value
  }

  it(`accepts ${MAX_NESTING} levels of arrays and refuses ${MAX_NESTING + 1} with MALFORMED`, () => {
    expect(decodeCanonical(encodeCanonical(nested(MAX_NESTING)))).toEqual(nested(MAX_NESTING))
    expectCode(() => decodeCanonical(encodeCanonical(nested(MAX_NESTING + 1))), 'MALFORMED')
  })
})
