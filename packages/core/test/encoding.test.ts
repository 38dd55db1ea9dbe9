/**
 * Canonical CBOR: one encoding per value, and decoding refuses every other
 * encoding of the same value.
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { decodeCanonical, encodeCanonical } from '@healthchain/core'
import { craft, craftEncode } from './helpers/cbor-craft.js'
import { deterministicStream } from './helpers/deterministic-crypto.js'
import { expectCode } from './helpers/expect-code.js'

const enc = (value: unknown) => bytesToHex(encodeCanonical(value))

describe('encodeCanonical', () => {
  it('sorts map keys by their encoded bytes (shorter keys first), at every depth', () => {
    expect(enc({ bb: 1, a: 2, b: 3, aaa: { z: 1, y: 2 } })).toBe('a4' + '616102' + '616203' + '62626201' + '63616161a2617902617a01')
  })

  it('writes integers and lengths in their shortest form', () => {
    expect(enc(0)).toBe('00')
    expect(enc(23)).toBe('17')
    expect(enc(24)).toBe('1818')
    expect(enc(255)).toBe('18ff')
    expect(enc(256)).toBe('190100')
    expect(enc(65536)).toBe('1a00010000')
    expect(enc(2 ** 32)).toBe('1b0000000100000000')
    expect(enc(-1)).toBe('20')
    expect(enc(-25)).toBe('3818')
    expect(enc(new Uint8Array(24))).toBe('5818' + '00'.repeat(24))
    expect(enc('x'.repeat(23))).toBe('77' + '78'.repeat(23))
  })

  it('writes floats in the shortest width that keeps their value', () => {
    expect(enc(1.5)).toBe('f93e00')
    expect(enc(-0.125)).toBe('f9b000')
    expect(enc(65504.5)).toBe('fa477fe080') // beyond float16's range
    expect(enc(100000.5)).toBe('fa47c35040')
    expect(enc(0.1)).toBe('fb3fb999999999999a')
    const f64 = new DataView(new ArrayBuffer(8))
    f64.setFloat64(0, 51.50721)
    expect(enc(51.50721)).toBe('fb' + bytesToHex(new Uint8Array(f64.buffer)))
  })

  it('writes integral numbers as integers, never as floats', () => {
    expect(enc(1.0)).toBe('01')
    expect(enc(1e15)).toBe('1b00038d7ea4c68000')
  })

  it('leaves out undefined properties', () => {
    expect(enc({ a: 1, b: undefined })).toBe(enc({ a: 1 }))
  })

  it('encodes a byte view by its own bytes, not its buffer', () => {
    const buffer = new Uint8Array([9, 9, 1, 2, 3, 9])
    expect(enc(buffer.subarray(2, 5))).toBe('43010203')
  })

  it('refuses what has no canonical encoding (MALFORMED)', () => {
    expectCode(() => encodeCanonical(() => 1), 'MALFORMED')
    expectCode(() => encodeCanonical(Symbol('x')), 'MALFORMED')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expectCode(() => encodeCanonical(cyclic), 'MALFORMED')
  })

  it('returns bytes that later encodings do not overwrite', () => {
    const first = encodeCanonical({ a: 'first value', b: [1, 2, 3] })
    const copy = first.slice()
    for (let i = 0; i < 20; i++) encodeCanonical({ z: 'x'.repeat(i * 50), n: i })
    expect(first).toEqual(copy)
  })
})

describe('round trips', () => {
  const random = deterministicStream('encoding/round-trips')
  const view = (n: number) => new DataView(random(n).buffer)

  function randomNumber (): number {
    const kind = random(1)[0]! % 6
    switch (kind) {
      case 0: return view(4).getUint32(0) % 1000
      case 1: return -(view(4).getUint32(0))
      case 2: return view(8).getFloat64(0) % 1e6 || 1.25
      case 3: return Math.fround(view(4).getFloat32(0) % 1e3) || 2.5
      case 4: return (view(2).getInt16(0)) / 64 // exact in float16 when small
      default: return Number.MAX_SAFE_INTEGER - (view(2).getUint16(0))
    }
  }

  function randomValue (depth: number): unknown {
    const kind = random(1)[0]! % (depth > 2 ? 5 : 7)
    switch (kind) {
      case 0: return randomNumber()
      case 1: return bytesToHex(random(random(1)[0]! % 40))
      case 2: return random(random(1)[0]! % 70)
      case 3: return random(1)[0]! % 2 === 0
      case 4: return null
      case 5: return Array.from({ length: random(1)[0]! % 5 }, () => randomValue(depth + 1))
      default: return Object.fromEntries(Array.from({ length: random(1)[0]! % 6 }, (_, i) => [`k${bytesToHex(random(1))}${i}`, randomValue(depth + 1)]))
    }
  }

  it('500 random values decode to themselves and re-encode to the same bytes', () => {
    for (let i = 0; i < 500; i++) {
      const value = randomValue(0)
      if (Object.is(value, -0)) continue
      const bytes = encodeCanonical(value)
      const decoded = decodeCanonical(bytes)
      expect(decoded).toEqual(value)
      expect(bytesToHex(encodeCanonical(decoded))).toBe(bytesToHex(bytes))
    }
  })
})

describe('decodeCanonical refuses every non-canonical form (MALFORMED)', () => {
  const cases: Array<[string, string]> = [
    ['integer in a wider argument than needed', '1817'],
    ['integer 0 in two bytes', '1800'],
    ['negative integer in a wider argument', '3800'],
    ['string length in a wider argument', '780161'],
    ['array length in a wider argument', '980100'],
    ['map length in a wider argument', 'b80100'],
    ['float16 value written as float32', 'fa3fc00000'],
    ['float16 value written as float64', 'fb3ff8000000000000'],
    ['float32 value written as float64', 'fb40f86a0800000000'],
    ['integer written as float16', 'f93c00'],
    ['map keys out of order', 'a2616201616101'],
    ['shorter key after a longer one', 'a262616101616202'],
    ['duplicate key', 'a2616101616102'],
    ['indefinite-length array', '9f01ff'],
    ['indefinite-length map', 'bf616101ff'],
    ['indefinite-length text', '7f6161ff'],
    ['trailing bytes', '0100'],
    ['truncated', '6261'],
    ['empty', ''],
    ['a tag', 'c11a514b67b0'],
    ['undefined', 'f7'],
    ['NaN', 'f97e00'],
    ['infinity', 'f97c00'],
    ['integer beyond 2^53', '1b0020000000000000'],
    ['non-string map key', 'a10102'],
    ['invalid UTF-8 in text', '62c328'],
    ['break without start', 'ff'],
    ['reserved additional information', '1c']
  ]
  it.each(cases)('%s', (_name, hex) => {
    expectCode(() => decodeCanonical(hexToBytes(hex)), 'MALFORMED')
  })

  it('the canonical forms of the same values decode (control)', () => {
    expect(decodeCanonical(hexToBytes('17'))).toBe(23)
    expect(decodeCanonical(hexToBytes('f93e00'))).toBe(1.5)
    expect(decodeCanonical(hexToBytes('a2616101616202'))).toEqual({ a: 1, b: 2 })
    expect(decodeCanonical(craftEncode({ a: 1, b: [craft.uint(24, 1)] }))).toEqual({ a: 1, b: [24] })
  })

  it('refuses input that is not bytes', () => {
    expectCode(() => decodeCanonical('a0' as unknown as Uint8Array), 'MALFORMED')
  })
})
