/**
 * What a user signs to log in: "healthchain/v1/login" 0x00 ‖ len (1 byte) ‖
 * node ‖ nonce (32). Part of the API contract because every client signs it
 * (the CLI, the phone, the browser console); the node checks it in
 * auth/challenge.ts. Known-answer vectors: node/test/vectors/login.json.
 */
import { concatBytes, domainTag, isInstitutionId, utf8ToBytes, type CryptoProvider, type InstitutionId } from '@healthchain/core'
import { NodeError } from '../errors.js'

export const LOGIN_VERSION = 1
export const LOGIN_DOMAIN = 'healthchain/v1/login'
const LOGIN_DOMAIN_BYTES = domainTag(LOGIN_DOMAIN)
export const LOGIN_NONCE_BYTES = 32

/** The exact bytes a user signs to log in to `node` with `nonce`. */
export function loginMessage (node: InstitutionId, nonce: Uint8Array): Uint8Array {
  if (!isInstitutionId(node)) throw new NodeError('BAD_REQUEST', 'node: expected an institution id', { field: 'node' })
  if (!(nonce instanceof Uint8Array) || nonce.length !== LOGIN_NONCE_BYTES) {
    throw new NodeError('BAD_REQUEST', `nonce: expected ${LOGIN_NONCE_BYTES} bytes`, { field: 'nonce' })
  }
  const name = utf8ToBytes(node)
  return concatBytes(LOGIN_DOMAIN_BYTES, new Uint8Array([name.length]), name, nonce)
}

/** A user's signature over the login message (what a client computes). */
export function signLogin (node: InstitutionId, nonce: Uint8Array, secretKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sign(loginMessage(node, nonce), secretKey)
}
