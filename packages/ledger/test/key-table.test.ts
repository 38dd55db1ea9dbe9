/**
 * The catalog's packed chain keys (key-table.ts): every key added is found
 * at its slot and handed back byte for byte, across the buffer's growth and
 * the hash table's, keys sharing their first bytes (the hash) included.
 */
import { describe, expect, it } from 'vitest'
import { KeyTable } from '../src/key-table.js'

function random (seed: number): () => number {
  let s = seed
  return () => { s = (s * 1_103_515_245 + 12_345) % 2 ** 31; return s / 2 ** 31 }
}

describe('KeyTable', () => {
  it('finds every key added, at one slot each, across growth; unknown keys and keys of another length are not found', () => {
    const next = random(11)
    const table = new KeyTable()
    const keys = Array.from({ length: 5000 }, () => Uint8Array.from({ length: 32 }, () => Math.floor(next() * 256)))
    // Same first four bytes as another key: only a whole-key comparison tells them apart.
    for (let i = 0; i < 50; i++) keys.push(Uint8Array.from([...keys[i]!.subarray(0, 4), ...keys[i + 100]!.subarray(4)]))
    const slots = keys.map((key) => table.add(key))
    expect(slots).toEqual(keys.map((_, i) => i))
    expect(table.size).toBe(keys.length)
    keys.forEach((key, i) => {
      expect(table.find(key)).toBe(i)
      expect(table.add(new Uint8Array(key))).toBe(i)
      expect(table.key(i)).toEqual(key)
    })
    expect(table.size).toBe(keys.length)
    expect(table.find(new Uint8Array(32).fill(0xab))).toBe(-1)
    expect(table.find(new Uint8Array(31))).toBe(-1)
    expect(() => table.add(new Uint8Array(33))).toThrow(RangeError)
  })

  it('hands a key added as a Buffer back as a Buffer, and a plain one as a plain Uint8Array, each a copy', () => {
    const table = new KeyTable()
    const buffer = Buffer.alloc(32, 1)
    const plain = new Uint8Array(32).fill(2)
    const b = table.add(buffer)
    const p = table.add(plain)
    expect(Buffer.isBuffer(table.key(b))).toBe(true)
    expect(Buffer.isBuffer(table.key(p))).toBe(false)
    expect(table.key(p)).toEqual(plain)
    table.key(b).fill(9)
    expect(table.key(b)).toEqual(buffer)
  })
})
