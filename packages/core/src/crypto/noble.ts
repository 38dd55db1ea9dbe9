/**
 * The portable provider: @noble/curves, @noble/ciphers, @noble/hashes.
 *
 * noble's own `ed25519.verify` is cofactored (ZIP-215 by default; even with
 * `zip215: false` it accepts small-order keys and R points that libsodium
 * refuses), so verification here is written against noble's point API to give
 * libsodium's verdict exactly: see `verifyLikeLibsodium`.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { randomBytes, concatBytes } from '@noble/hashes/utils.js'
import { equal } from '../bytes.js'
import { CoreError } from '../errors.js'
import type { CryptoProvider } from './provider.js'

const Point = ed25519.Point
const L = Point.Fn.ORDER

function bytesToNumberLE (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

/**
 * libsodium's crypto_sign_verify_detached rule:
 * 1. S (second half of the signature) must be canonical: S < L;
 * 2. the public key A must be a canonical encoding of a point that is not of small order;
 * 3. R must not be of small order;
 * 4. cofactorless equation: encode([S]B - [k]A) must equal the bytes of R exactly,
 *    with k = SHA-512(R || A || M) mod L.
 */
export function verifyLikeLibsodium (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
  const rBytes = signature.subarray(0, 32)
  const s = bytesToNumberLE(signature.subarray(32, 64))
  if (s >= L) return false
  let A
  try {
    A = Point.fromBytes(publicKey, false)
  } catch {
    return false
  }
  if (A.isSmallOrder()) return false
  // libsodium refuses small-order R by its encoding (a fixed blocklist that
  // includes non-canonical encodings of those points); any R that decodes to a
  // small-order point, canonically or not, is on that list.
  try {
    if (Point.fromBytes(rBytes, true).isSmallOrder()) return false
  } catch {
    // R that does not decode cannot equal an encoded point below: rejected there.
  }
  const k = bytesToNumberLE(sha512(concatBytes(rBytes, publicKey, message))) % L
  const check = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k))
  return equal(check.toBytes(), rBytes)
}

export const nobleProvider: CryptoProvider = {
  name: 'noble',
  signKeyPairFromSeed (seed) {
    const publicKey = ed25519.getPublicKey(seed)
    return { publicKey, secretKey: concatBytes(seed, publicKey) }
  },
  sign (message, secretKey) {
    return ed25519.sign(message, secretKey.subarray(0, 32))
  },
  verify: verifyLikeLibsodium,
  x25519PublicKey (secretKey) {
    return x25519.getPublicKey(secretKey)
  },
  x25519 (secretKey, publicKey) {
    try {
      // noble throws on an all-zero shared secret (small-order public key).
      return x25519.getSharedSecret(secretKey, publicKey)
    } catch (cause) {
      throw new CoreError('BAD_KEY', 'X25519 public key is invalid or of small order', { cause })
    }
  },
  aeadEncrypt (key, nonce, plaintext, aad) {
    return xchacha20poly1305(key, nonce, aad).encrypt(plaintext)
  },
  aeadDecrypt (key, nonce, ciphertext, aad) {
    try {
      return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext)
    } catch {
      return null
    }
  },
  randomBytes (length) {
    return randomBytes(length)
  }
}
