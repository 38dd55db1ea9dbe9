/**
 * Canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding) through cborg.
 *
 * Encoding: map keys sorted bytewise, integers and lengths in their shortest
 * form, floats in the shortest form that keeps their value, no indefinite
 * lengths, no tags. Decoding is strict and then re-encodes: bytes that do not
 * re-encode to themselves are not canonical and are refused, which closes the
 * gaps cborg's decoder leaves open (map key order, float widths).
 */
import { encode, decode, rfc8949EncodeOptions } from 'cborg'
import { CoreError } from './errors.js'
import { equal } from './bytes.js'

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

export function encodeCanonical (value: unknown): Uint8Array {
  try {
    return encode(value, { ...rfc8949EncodeOptions, ignoreUndefinedProperties: true })
  } catch (cause) {
    throw new CoreError('MALFORMED', 'value cannot be encoded as canonical CBOR', { cause })
  }
}

/** Decodes canonical CBOR; anything else (trailing bytes, other orders or widths) is MALFORMED. */
export function decodeCanonical (bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CoreError('MALFORMED', 'expected bytes')
  let value: unknown
  try {
    value = decode(bytes, decodeOptions)
  } catch (cause) {
    throw new CoreError('MALFORMED', 'not valid CBOR', { cause })
  }
  if (!equal(encodeCanonical(value), bytes)) {
    throw new CoreError('MALFORMED', 'CBOR is not in canonical form')
  }
  return value
}
