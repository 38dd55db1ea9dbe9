/**
 * A deliberately non-canonical CBOR writer, to make bytes that canonical
 * decoding must refuse. Plain objects are written with their keys in
 * insertion order (not sorted); leaves go through the canonical encoder; the
 * `craft.*` nodes below write exactly the non-canonical form they name.
 */
import { concatBytes, encodeCanonical } from '@healthchain/core'

const CRAFT = Symbol('craft')

type Node =
  | { [CRAFT]: 'uint', value: number, width: 1 | 2 | 4 | 8 }
  | { [CRAFT]: 'f64', value: number }
  | { [CRAFT]: 'f32', value: number }
  | { [CRAFT]: 'map', entries: Array<[string, unknown]> }
  | { [CRAFT]: 'indefMap', value: Record<string, unknown> }
  | { [CRAFT]: 'indefBytes', chunks: Uint8Array[] }
  | { [CRAFT]: 'longBytes', value: Uint8Array }
  | { [CRAFT]: 'raw', bytes: Uint8Array }

export const craft = {
  /** An unsigned integer written with a fixed, possibly too wide, argument. */
  uint: (value: number, width: 1 | 2 | 4 | 8): Node => ({ [CRAFT]: 'uint', value, width }),
  f64: (value: number): Node => ({ [CRAFT]: 'f64', value }),
  f32: (value: number): Node => ({ [CRAFT]: 'f32', value }),
  /** A map written from explicit pairs, in order, duplicates allowed. */
  map: (entries: Array<[string, unknown]>): Node => ({ [CRAFT]: 'map', entries }),
  indefMap: (value: Record<string, unknown>): Node => ({ [CRAFT]: 'indefMap', value }),
  indefBytes: (chunks: Uint8Array[]): Node => ({ [CRAFT]: 'indefBytes', chunks }),
  /** A byte string whose length is written in 8 bytes. */
  longBytes: (value: Uint8Array): Node => ({ [CRAFT]: 'longBytes', value }),
  raw: (bytes: Uint8Array): Node => ({ [CRAFT]: 'raw', bytes })
}

function head (major: number, argument: number, width?: 1 | 2 | 4 | 8): Uint8Array {
  const m = major << 5
  if (width === undefined) {
    if (argument < 24) return new Uint8Array([m | argument])
    width = argument < 0x100 ? 1 : argument < 0x10000 ? 2 : argument < 0x100000000 ? 4 : 8
  }
  const out = new Uint8Array(1 + width)
  out[0] = m | ({ 1: 24, 2: 25, 4: 26, 8: 27 } as const)[width]
  const view = new DataView(out.buffer)
  if (width === 1) view.setUint8(1, argument)
  else if (width === 2) view.setUint16(1, argument)
  else if (width === 4) view.setUint32(1, argument)
  else view.setBigUint64(1, BigInt(argument))
  return out
}

function isNode (value: unknown): value is Node {
  return typeof value === 'object' && value !== null && CRAFT in value
}

export function craftEncode (value: unknown): Uint8Array {
  if (isNode(value)) {
    switch (value[CRAFT]) {
      case 'uint': return head(0, value.value, value.width)
      case 'f64': {
        const out = new Uint8Array(9)
        out[0] = 0xfb
        new DataView(out.buffer).setFloat64(1, value.value)
        return out
      }
      case 'f32': {
        const out = new Uint8Array(5)
        out[0] = 0xfa
        new DataView(out.buffer).setFloat32(1, value.value)
        return out
      }
      case 'map':
        return concatBytes(head(5, value.entries.length), ...value.entries.flatMap(([k, v]) => [encodeCanonical(k), craftEncode(v)]))
      case 'indefMap':
        return concatBytes(
          new Uint8Array([0xbf]),
          ...Object.entries(value.value).flatMap(([k, v]) => [encodeCanonical(k), craftEncode(v)]),
          new Uint8Array([0xff])
        )
      case 'indefBytes':
        return concatBytes(new Uint8Array([0x5f]), ...value.chunks.map((c) => concatBytes(head(2, c.length), c)), new Uint8Array([0xff]))
      case 'longBytes':
        return concatBytes(head(2, value.value.length, 8), value.value)
      case 'raw':
        return value.bytes
    }
  }
  if (Array.isArray(value)) return concatBytes(head(4, value.length), ...value.map(craftEncode))
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    return concatBytes(head(5, entries.length), ...entries.flatMap(([k, v]) => [encodeCanonical(k), craftEncode(v)]))
  }
  return encodeCanonical(value)
}

/** A copy of `value` with every map's keys in canonical order (bytewise on their encodings). */
export function sortKeysCanonically (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysCanonically)
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value).sort((a, b) => compareBytes(encodeCanonical(a), encodeCanonical(b)))
    return Object.fromEntries(keys.map((k) => [k, sortKeysCanonically((value as Record<string, unknown>)[k])]))
  }
  return value
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}
