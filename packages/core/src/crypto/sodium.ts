/**
 * The fast provider: libsodium through sodium-native (the binding Hypercore
 * already ships). Node only; phones and browsers use the noble provider, which
 * gives the same verdicts (proved by the cross-tests in packages/core/test).
 */
import sodium from 'sodium-native'
import { CoreError } from '../errors.js'
import type { CryptoProvider } from './provider.js'

function out (length: number): Uint8Array {
  return new Uint8Array(length)
}

export const sodiumProvider: CryptoProvider = {
  name: 'sodium',
  signKeyPairFromSeed (seed) {
    const publicKey = out(32)
    const secretKey = out(64)
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
    return { publicKey, secretKey }
  },
  sign (message, secretKey) {
    const signature = out(64)
    sodium.crypto_sign_detached(signature, message, secretKey)
    return signature
  },
  verify (message, signature, publicKey) {
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  },
  x25519PublicKey (secretKey) {
    const publicKey = out(32)
    sodium.crypto_scalarmult_base(publicKey, secretKey)
    return publicKey
  },
  x25519 (secretKey, publicKey) {
    const shared = out(32)
    try {
      // libsodium returns -1 (thrown by the binding) for an all-zero result.
      sodium.crypto_scalarmult(shared, secretKey, publicKey)
    } catch (cause) {
      throw new CoreError('BAD_KEY', 'X25519 public key is invalid or of small order', { cause })
    }
    return shared
  },
  aeadEncrypt (key, nonce, plaintext, aad) {
    const ciphertext = out(plaintext.length + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES)
    sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext, plaintext, aad, null, nonce, key)
    return ciphertext
  },
  aeadDecrypt (key, nonce, ciphertext, aad) {
    if (ciphertext.length < sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES) return null
    const plaintext = out(ciphertext.length - sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES)
    try {
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plaintext, null, ciphertext, aad, nonce, key)
    } catch {
      return null
    }
    return plaintext
  },
  randomBytes (length) {
    const bytes = out(length)
    sodium.randombytes_buf(bytes)
    return bytes
  }
}
