/**
 * Known-answer vectors of the catalog checkpoint (vectors/catalog-checkpoint.json,
 * written by make-vectors.ts): every valid case encodes to its bytes and
 * decodes back to its input; every reject case is refused with its code.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '@healthchain/core'
import { decodeCatalogCheckpoint, encodeCatalogCheckpoint } from '../src/catalog-checkpoint.js'
import { LedgerError } from '../src/errors.js'
import { fromJson, toJson, type CheckpointJson } from './helpers/checkpoint-json.js'

const vectors = JSON.parse(readFileSync(new URL('./vectors/catalog-checkpoint.json', import.meta.url), 'utf8')) as {
  valid: Array<{ name: string, input: CheckpointJson, hex: string }>
  rejects: Array<{ name: string, hex: string, code: string }>
}
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))

describe('catalog checkpoint vectors', () => {
  it('has cases of both kinds', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(3)
    expect(vectors.rejects.length).toBeGreaterThanOrEqual(10)
  })

  for (const v of vectors.valid) {
    it(`encodes and decodes: ${v.name}`, () => {
      expect(bytesToHex(encodeCatalogCheckpoint(fromJson(v.input)))).toBe(v.hex)
      expect(toJson(decodeCatalogCheckpoint(bytes(v.hex)))).toEqual(v.input)
      // A Buffer (what readFile gives) decodes to the same plain byte arrays.
      expect(toJson(decodeCatalogCheckpoint(Buffer.from(v.hex, 'hex')))).toEqual(v.input)
    })
  }

  for (const r of vectors.rejects) {
    it(`refuses (${r.code}): ${r.name}`, () => {
      let caught: unknown
      try {
        decodeCatalogCheckpoint(bytes(r.hex))
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(LedgerError)
      expect((caught as LedgerError).code).toBe(r.code)
    })
  }
})
