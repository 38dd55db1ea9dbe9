/**
 * Canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding) through cborg.
 *
 * Encoding: map keys sorted bytewise, integers and lengths in their shortest
 * form, floats in the shortest form that keeps their value, no indefinite
 * lengths, no tags. Decoding accepts exactly the bytes `encodeCanonical` would
 * write for the decoded value, without re-encoding it (re-encoding cost more
 * than the whole strict decode). cborg's strict options already refuse
 * non-minimal integers and lengths, indefinite lengths, tags, undefined,
 * NaN, infinities, big integers, non-text map keys, duplicate keys and
 * trailing bytes. A tokenizer wrapped around cborg's own closes the gaps it
 * leaves open, as the tokens stream past:
 * - map keys must ascend strictly by their encoded bytes (RFC 8949 bytewise
 *   order; for text keys that is shorter first, then bytewise UTF-8);
 * - a float must be in the width cborg's encoder picks for its value: never
 *   a safe integer (those, -0 included, are written as integers), and float16
 *   only where cborg's float16 writer keeps the value (it does not write
 *   float16 subnormals other than powers of two: those go as float32);
 * - text must be well-formed UTF-8 without a leading BOM: cborg's decoder
 *   would replace bad sequences with U+FFFD and drop a leading BOM, so such
 *   bytes would not re-encode to themselves.
 * Nothing else differs: integers, lengths, byte strings, arrays and the
 * simple values false, true and null each have a single form cborg accepts.
 */
import { encode, decode, Tokenizer, type Token } from 'cborg'
import { CoreError } from './errors.js'

const decodeOptions = {
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

/** Plain data that has exactly one canonical encoding. */
export type CanonicalValue =
  | null | boolean | number | string | Uint8Array
  | CanonicalValue[]
  | { [key: string]: CanonicalValue | undefined }

/**
 * cborg's default map order is RFC 7049's length-first order; for text keys
 * (the only keys a JS object has, and the only ones decodeCanonical accepts)
 * it is the same order as RFC 8949's bytewise one, because a text key's
 * encoding starts with its length. The default also takes cborg's direct
 * encoder, about twice as fast as its token path (which rfc8949EncodeOptions
 * uses). The known-answer vectors pin the bytes.
 */
const ENCODE_OPTIONS = { ignoreUndefinedProperties: true }

export function encodeCanonical (value: unknown): Uint8Array {
  try {
    return encode(value, ENCODE_OPTIONS)
  } catch (cause) {
    throw new CoreError('MALFORMED', 'value cannot be encoded as canonical CBOR', { cause })
  }
}

/** Thrown inside the tokenizer; cborg passes it through and decodeCanonical reports it. */
class NotCanonical extends Error {}

const MAJOR_STRING = 3
const MAJOR_ARRAY = 4
const MAJOR_MAP = 5
const MAJOR_SIMPLE = 7

const scratch = new DataView(new ArrayBuffer(4))

/**
 * The byte length cborg's encoder writes for the number `v` (finite, not NaN):
 * 0 when it is a safe integer (written as an integer, not a float), else 3, 5
 * or 9 for float16, float32 or float64. Mirrors encodeFloat in cborg's
 * lib/7float.js: float16 is tried through the value's float32 bits, keeping
 * the top 10 mantissa bits for normal halves and only the leading bit for
 * subnormal halves; a width is used only if it reads back as `v`.
 */
function canonicalFloatLength (v: number): number {
  if (Number.isSafeInteger(v)) return 0
  if (Math.fround(v) !== v) return 9
  scratch.setFloat32(0, v)
  const bits = scratch.getUint32(0)
  const exponent = ((bits >>> 23) & 0xff) - 127
  const mantissa = bits & 0x7fffff
  if (exponent >= -14 && exponent <= 15) return (mantissa & 0x1fff) === 0 ? 3 : 5
  if (exponent >= -24 && exponent < -14) return mantissa === 0 ? 3 : 5
  return 5
}

/** Whether data[start, end) is well-formed UTF-8 (RFC 3629) that does not start with a BOM. */
function isCanonicalUtf8 (data: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end && data[i]! < 0x80) i++
  if (i === end) return true
  if (end - start >= 3 && data[start] === 0xef && data[start + 1] === 0xbb && data[start + 2] === 0xbf) return false
  while (i < end) {
    const b = data[i]!
    if (b < 0x80) { i++; continue }
    let need: number
    let lo = 0x80
    let hi = 0xbf
    if (b >= 0xc2 && b <= 0xdf) need = 1
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2
      if (b === 0xe0) lo = 0xa0 // overlong
      else if (b === 0xed) hi = 0x9f // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3
      if (b === 0xf0) lo = 0x90 // overlong
      else if (b === 0xf4) hi = 0x8f // beyond U+10FFFF
    } else return false
    if (i + need >= end) return false // truncated sequence
    const b1 = data[i + 1]!
    if (b1 < lo || b1 > hi) return false
    for (let k = 2; k <= need; k++) {
      const bk = data[i + k]!
      if (bk < 0x80 || bk > 0xbf) return false
    }
    i += need + 1
  }
  return true
}

/** Deepest nesting of arrays and maps accepted. */
export const MAX_NESTING = 32

/** Byte length of the head (initial byte and argument) of the item at `pos`. */
function headLength (data: Uint8Array, pos: number): number {
  const info = data[pos]! & 31
  return info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 9
}

/**
 * cborg's tokenizer, checking what strict decoding leaves open. It keeps a
 * stack of the open arrays and maps (items still to come; for a map, keys and
 * values both count, so an even count means a key comes next) and, per map,
 * where its previous key's bytes are, to compare each key with the one before.
 */
class CanonicalTokenizer {
  private readonly inner: Tokenizer
  private readonly data: Uint8Array
  private depth = 0
  private readonly left: number[] = []
  private readonly isMap: boolean[] = []
  private readonly keyStart: number[] = []
  private readonly keyEnd: number[] = []

  constructor (data: Uint8Array) {
    this.data = data
    this.inner = new Tokenizer(data, decodeOptions)
  }

  done (): boolean { return this.inner.done() }
  pos (): number { return this.inner.pos() }

  next (): Token {
    const data = this.data
    const start = this.inner.pos()
    const token = this.inner.next()
    const end = start + token.encodedLength!
    const major = token.type.major
    let depth = this.depth
    if (depth > 0) {
      const top = depth - 1
      const left = this.left[top]!
      if (this.isMap[top] && (left & 1) === 0) {
        if (major !== MAJOR_STRING) throw new NotCanonical('map key is not text')
        const prevStart = this.keyStart[top]!
        if (prevStart >= 0 && !ascends(data, prevStart, this.keyEnd[top]!, start, end)) {
          throw new NotCanonical('map keys are not in canonical order')
        }
        this.keyStart[top] = start
        this.keyEnd[top] = end
      }
      this.left[top] = left - 1
    }
    if (major === MAJOR_STRING) {
      if (!isCanonicalUtf8(data, start + headLength(data, start), end)) throw new NotCanonical('text is not canonical UTF-8')
    } else if (major === MAJOR_SIMPLE) {
      if (typeof token.value === 'number' && canonicalFloatLength(token.value) !== token.encodedLength) {
        throw new NotCanonical('float is not in its canonical width')
      }
    } else if ((major === MAJOR_ARRAY || major === MAJOR_MAP) && token.value > 0) {
      // No healthchain structure nests this deep; a fixed limit keeps the verdict independent of stack size.
      if (depth >= MAX_NESTING) throw new NotCanonical(`nesting deeper than ${MAX_NESTING} levels`)
      const map = major === MAJOR_MAP
      this.left[depth] = map ? token.value * 2 : token.value
      this.isMap[depth] = map
      this.keyStart[depth] = -1
      this.depth = depth + 1
      return token
    }
    while (depth > 0 && this.left[depth - 1] === 0) depth--
    this.depth = depth
    return token
  }
}

/** Whether the bytes data[aStart, aEnd) sort strictly before data[bStart, bEnd). */
function ascends (data: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  const aLength = aEnd - aStart
  const bLength = bEnd - bStart
  const n = aLength < bLength ? aLength : bLength
  for (let i = 0; i < n; i++) {
    const a = data[aStart + i]!
    const b = data[bStart + i]!
    if (a !== b) return a < b
  }
  return aLength < bLength
}

/** Decodes canonical CBOR; anything else (trailing bytes, other orders or widths) is MALFORMED. */
export function decodeCanonical (bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CoreError('MALFORMED', 'expected bytes')
  // a plain view, as cborg makes of a Buffer: its slices must copy, not alias the input
  const data = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  try {
    return decode(data, { ...decodeOptions, tokenizer: new CanonicalTokenizer(data) })
  } catch (cause) {
    if (cause instanceof NotCanonical) throw new CoreError('MALFORMED', `CBOR is not in canonical form: ${cause.message}`)
    throw new CoreError('MALFORMED', 'not valid CBOR', { cause })
  }
}
