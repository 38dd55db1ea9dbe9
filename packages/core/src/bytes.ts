/** Small byte helpers. `Uint8Array` only: core never depends on Node's Buffer. */
import { bytesToHex, hexToBytes, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { CoreError } from './errors.js'

export { bytesToHex, concatBytes, utf8ToBytes }

/** Byte equality without an early exit, so comparing secrets leaks no timing. */
export function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Parses lowercase or uppercase hex of an exact byte length; names `field` on error. */
export function fromHex (hex: string, length: number, field: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CoreError('INVALID_FIELD', `${field}: expected ${length} bytes of hex`, { field })
  }
  return hexToBytes(hex.toLowerCase())
}

/** Big-endian unsigned 64-bit encoding of a safe integer. */
export function u64be (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CoreError('INVALID_FIELD', `expected a non-negative safe integer, got ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/** The UTF-8 bytes of a domain tag followed by a NUL, so no tag is a prefix of another. */
export function domainTag (tag: string): Uint8Array {
  return concatBytes(utf8ToBytes(tag), new Uint8Array([0]))
}

/** Checks that `value` is a Uint8Array of exactly `length` bytes. */
export function assertBytes (value: unknown, length: number, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CoreError('BAD_KEY', `${field}: expected ${length} bytes, got ${typeof value}`, { field })
  if (value.length !== length) throw new CoreError('BAD_KEY', `${field}: expected ${length} bytes, got ${value.length}`, { field })
}
