/**
 * Language-neutral JSON for CBOR data model values: byte strings become
 * `{ "$bytes": "<lowercase hex>" }`, everything else is plain JSON. Used by the
 * vector files to show what each encoded block decodes to.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

export type Tagged = null | boolean | number | string | { $bytes: string } | Tagged[] | { [key: string]: Tagged }

export function toTagged (value: unknown): Tagged {
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) }
  if (Array.isArray(value)) return value.map(toTagged)
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value
  if (typeof value === 'object') {
    const out: Record<string, Tagged> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = toTagged(v)
    }
    return out
  }
  throw new Error(`cannot represent ${typeof value} in tagged JSON`)
}

export function fromTagged (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromTagged)
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
    if (keys.length === 1 && keys[0] === '$bytes') return hexToBytes((value as { $bytes: string }).$bytes)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = fromTagged(v)
    return out
  }
  return value
}

export function hex (bytes: Uint8Array): string {
  return bytesToHex(bytes)
}

export function unhex (text: string): Uint8Array {
  return hexToBytes(text)
}
