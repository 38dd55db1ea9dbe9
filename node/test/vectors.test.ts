/**
 * Known-answer vectors (node/test/vectors, written by
 * node/test/make-vectors.ts): every byte of the login message and the
 * audit-line encoding, and every input that must be refused, under both
 * crypto providers.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { bytesToHex, fromHex, nobleProvider, userIdFromKey, type InstitutionId } from '@healthchain/core'
import { decodeAuditLine, encodeAuditLine, isNodeError, LOGIN_DOMAIN, LOGIN_VERSION, loginMessage, type AuditLine } from '../src/index.js'
import { crypto, expectCode } from './helpers/fixtures.js'

function load<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T
}

const bytes = (hex: string): Uint8Array => fromHex(hex, hex.length / 2, 'hex')

interface LoginVectors {
  version: number
  domain: string
  valid: Array<{ name: string, node: string, seed: string, publicKey: string, userId: string, nonce: string, message: string, signature: string }>
  reject: Array<{ name: string, node: string, nonce: string, publicKey: string, signature: string, code: string }>
  invalidInput: Array<{ name: string, node: string, nonce: string, code: 'BAD_REQUEST', field: string }>
}

describe('login vectors', () => {
  const vectors = load<LoginVectors>('login.json')

  it('are this build\'s version and domain', () => {
    expect(vectors.version).toBe(LOGIN_VERSION)
    expect(vectors.domain).toBe(LOGIN_DOMAIN)
    expect(vectors.valid.length).toBeGreaterThan(0)
    expect(vectors.reject.length).toBeGreaterThan(0)
  })

  for (const provider of [crypto, nobleProvider]) {
    it(`valid cases: same message bytes, same signature, which verifies (${provider.name})`, () => {
      for (const v of vectors.valid) {
        const keys = provider.signKeyPairFromSeed(bytes(v.seed))
        expect(bytesToHex(keys.publicKey), v.name).toBe(v.publicKey)
        expect(userIdFromKey(keys.publicKey), v.name).toBe(v.userId)
        const message = loginMessage(v.node as InstitutionId, bytes(v.nonce))
        expect(bytesToHex(message), v.name).toBe(v.message)
        expect(bytesToHex(provider.sign(message, keys.secretKey)), v.name).toBe(v.signature)
        expect(provider.verify(message, bytes(v.signature), keys.publicKey), v.name).toBe(true)
      }
    })

    it(`reject cases do not verify (${provider.name})`, () => {
      for (const v of vectors.reject) {
        const message = loginMessage(v.node as InstitutionId, bytes(v.nonce))
        expect(provider.verify(message, bytes(v.signature), bytes(v.publicKey)), v.name).toBe(false)
      }
    })
  }

  it('invalid inputs are refused when building the message', () => {
    for (const v of vectors.invalidInput) {
      expectCode(() => loginMessage(v.node as InstitutionId, bytes(v.nonce)), v.code)
      try { loginMessage(v.node as InstitutionId, bytes(v.nonce)) } catch (err) { expect((err as { field: string }).field, v.name).toBe(v.field) }
    }
  })
})

interface AuditVectors {
  version: number
  valid: Array<{ name: string, line: AuditLine, hex: string }>
  reject: Array<{ name: string, hex: string, code: string, field: string }>
}

describe('audit-line vectors', () => {
  const vectors = load<AuditVectors>('audit-lines.json')

  it('valid lines encode to exactly these bytes and decode back', () => {
    for (const v of vectors.valid) {
      expect(bytesToHex(encodeAuditLine(v.line)), v.name).toBe(v.hex)
      expect(decodeAuditLine(bytes(v.hex)), v.name).toEqual(v.line)
    }
  })

  it('reject cases are BAD_AUDIT_LINE naming the field', () => {
    for (const v of vectors.reject) {
      let caught: unknown
      try { decodeAuditLine(bytes(v.hex)) } catch (err) { caught = err }
      expect(isNodeError(caught, 'BAD_AUDIT_LINE'), v.name).toBe(true)
      if (v.field !== '') expect((caught as { field: string }).field, v.name).toBe(v.field)
    }
  })
})
