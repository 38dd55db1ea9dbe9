/**
 * The witness exchange's two messages: round trips, limits, and inputs that
 * must be refused (with the code and field).
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical, generatePartyKeys } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { NetError, type NetErrorCode } from '../src/errors.js'
import {
  MAX_COSIGNATURES_PER_RESPONSE, MAX_WITNESS_RESPONSE_BYTES, cosign, decodeWitnessRequest, decodeWitnessResponse,
  encodeWitnessRequest, encodeWitnessResponse, treeSignable, coreKeyOfSigner, type SignedHead, type WitnessResponse
} from '../src/wire/index.js'

/** A head that verifies: a fresh signer, its core key, and a signature over Hypercore's signable bytes. */
function signedHead (length: number, rootByte = 7): SignedHead {
  const signer = generatePartyKeys(crypto).sign
  const key = coreKeyOfSigner(signer.publicKey)
  const root = new Uint8Array(32).fill(rootByte)
  return { v: 1, key, signer: signer.publicKey, length, fork: 0, root, sig: crypto.sign(treeSignable(key, root, length, 0), signer.secretKey) }
}

function refused (fn: () => unknown, code: NetErrorCode, field?: string): void {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(NetError)
    expect((err as NetError).code).toBe(code)
    if (field !== undefined) expect((err as NetError).field).toBe(field)
    return
  }
  throw new Error(`expected ${code}`)
}

describe('WitnessRequest', () => {
  const key = new Uint8Array(32).fill(1)

  it('round-trips with and without minLength', () => {
    for (const request of [{ v: 1, key }, { v: 1, key, minLength: 0 }, { v: 1, key, minLength: 2 ** 40 }] as const) {
      expect(decodeWitnessRequest(encodeWitnessRequest(request))).toEqual(request)
    }
  })

  it('refuses a short key, a negative or fractional minLength, unknown fields, other versions, non-canonical bytes and oversize input', () => {
    refused(() => decodeWitnessRequest(encodeCanonical({ v: 1, key: key.subarray(1) })), 'INVALID_FIELD', 'key')
    refused(() => decodeWitnessRequest(encodeCanonical({ v: 1, key, minLength: -1 })), 'INVALID_FIELD', 'minLength')
    refused(() => decodeWitnessRequest(encodeCanonical({ v: 1, key, minLength: 1.5 })), 'INVALID_FIELD', 'minLength')
    refused(() => decodeWitnessRequest(encodeCanonical({ v: 1, key, extra: 1 })), 'INVALID_FIELD', 'extra')
    refused(() => decodeWitnessRequest(encodeCanonical({ key })), 'INVALID_FIELD', 'v')
    refused(() => decodeWitnessRequest(encodeCanonical({ v: 2, key })), 'UNSUPPORTED_VERSION', 'v')
    refused(() => decodeWitnessRequest(new Uint8Array([0xa1, 0x61, 0x76, 0x18, 0x01])), 'MALFORMED') // v encoded in 2 bytes
    refused(() => decodeWitnessRequest(encodeCanonical([1, key])), 'MALFORMED')
    refused(() => decodeWitnessRequest(new Uint8Array(129)), 'TOO_LARGE')
  })
})

describe('WitnessResponse', () => {
  const witness = generatePartyKeys(crypto).sign
  const head = signedHead(3)
  const cosignatures = Array.from({ length: MAX_COSIGNATURES_PER_RESPONSE }, (_, i) => cosign(signedHead(1 + i, 0xff), 'regulator-eu', witness.secretKey, crypto))

  it('round-trips an empty answer and a full one within its limit', () => {
    const empty: WitnessResponse = { v: 1, head: null, cosignatures: [] }
    expect(decodeWitnessResponse(encodeWitnessResponse(empty))).toEqual(empty)
    const full: WitnessResponse = { v: 1, head, cosignatures }
    const bytes = encodeWitnessResponse(full)
    expect(bytes.length).toBeLessThanOrEqual(MAX_WITNESS_RESPONSE_BYTES)
    expect(decodeWitnessResponse(bytes)).toEqual(full)
  })

  it('refuses more than 16 cosignatures, a bad nested head or cosignature, a missing head field, and nested other versions', () => {
    refused(() => decodeWitnessResponse(encodeCanonical({ v: 1, head: null, cosignatures: [...cosignatures, cosignatures[0]] })), 'INVALID_FIELD', 'cosignatures')
    refused(() => decodeWitnessResponse(encodeCanonical({ v: 1, head: { ...head, root: head.root.subarray(1) }, cosignatures: [] })), 'INVALID_FIELD', 'head.root')
    refused(() => decodeWitnessResponse(encodeCanonical({ v: 1, head: null, cosignatures: [{ ...cosignatures[0]!, witness: 'No Such Id' }] })), 'INVALID_FIELD', 'cosignatures.0.witness')
    refused(() => decodeWitnessResponse(encodeCanonical({ v: 1, cosignatures: [] })), 'INVALID_FIELD', 'head')
    refused(() => decodeWitnessResponse(encodeCanonical({ v: 1, head: { ...head, v: 2 }, cosignatures: [] })), 'UNSUPPORTED_VERSION')
    refused(() => decodeWitnessResponse(new Uint8Array(MAX_WITNESS_RESPONSE_BYTES + 1)), 'TOO_LARGE')
  })

  it('decodes without checking signatures (a flipped cosignature byte still decodes; the client verifies)', () => {
    const sig = cosignatures[0]!.sig.slice()
    sig[0]! ^= 1
    const forged: WitnessResponse = { v: 1, head: null, cosignatures: [{ ...cosignatures[0]!, sig }] }
    expect(decodeWitnessResponse(encodeWitnessResponse(forged)).cosignatures[0]!.sig).toEqual(sig)
  })
})
