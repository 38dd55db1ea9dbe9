// The subset of sodium-native (CommonJS, untyped) that the sodium provider uses.
declare module 'sodium-native' {
  interface Sodium {
    crypto_sign_seed_keypair (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
    crypto_sign_detached (signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
    crypto_sign_verify_detached (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
    crypto_scalarmult_base (publicKey: Uint8Array, secretKey: Uint8Array): void
    crypto_scalarmult (shared: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): void
    crypto_aead_xchacha20poly1305_ietf_encrypt (
      ciphertext: Uint8Array, message: Uint8Array, aad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array
    ): number
    crypto_aead_xchacha20poly1305_ietf_decrypt (
      message: Uint8Array, nsec: null, ciphertext: Uint8Array, aad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array
    ): number
    readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number
    randombytes_buf (out: Uint8Array): void
  }
  const sodium: Sodium
  export default sodium
}
