/**
 * The primitives core composes, behind one interface so the same rules run on
 * a phone (pure JS, @noble/*) and on a node (libsodium, ~20x faster here).
 *
 * Verification has ONE rule everywhere: libsodium's
 * `crypto_sign_verify_detached` (cofactorless; rejects S >= L, non-canonical
 * and small-order public keys, and small-order R). Hypercore verifies with
 * libsodium, so any other verdict would split the network. Every provider
 * must give libsodium's verdict on the vectors in packages/core/test/vectors.
 */
export interface CryptoProvider {
  readonly name: string
  /** Ed25519 key pair from a 32-byte seed; `secretKey` is seed || publicKey (64 bytes). */
  signKeyPairFromSeed (seed: Uint8Array): { publicKey: Uint8Array, secretKey: Uint8Array }
  /** Ed25519 signature (64 bytes) with a 64-byte secret key. */
  sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array
  /** Ed25519 verification under libsodium's rule. Never throws for bad input: returns false. */
  verify (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean
  /** X25519 public key of a 32-byte secret. */
  x25519PublicKey (secretKey: Uint8Array): Uint8Array
  /** X25519 shared secret; throws BAD_KEY when the result is all zeros (small-order peer key). */
  x25519 (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array
  /** XChaCha20-Poly1305 (IETF) encryption: ciphertext || 16-byte tag. */
  aeadEncrypt (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  /** XChaCha20-Poly1305 decryption; null when authentication fails. */
  aeadDecrypt (key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null
  /** Cryptographically secure random bytes. */
  randomBytes (length: number): Uint8Array
}

export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SECRET_KEY_BYTES = 64
export const ED25519_SIGNATURE_BYTES = 64
export const X25519_KEY_BYTES = 32
export const AEAD_KEY_BYTES = 32
export const AEAD_NONCE_BYTES = 24
export const AEAD_TAG_BYTES = 16
