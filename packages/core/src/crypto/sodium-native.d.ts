// The subset of sodium-native (CommonJS, untyped) that the sodium provider uses.
declare module 'sodium-native' {
  interface Sodium {
    crypto_sign_seed_keypair (publicKey: Buffer, secretKey: Buffer, seed: Buffer): void
    crypto_sign_detached (signature: Buffer, message: Buffer, secretKey: Buffer): void
    crypto_sign_verify_detached (signature: Buffer, message: Buffer, publicKey: Buffer): boolean
    crypto_scalarmult_base (publicKey: Buffer, secretKey: Buffer): void
    crypto_scalarmult (shared: Buffer, secretKey: Buffer, publicKey: Buffer): void
    crypto_aead_xchacha20poly1305_ietf_encrypt (ciphertext: Buffer, message: Buffer, aad: Buffer | null, nsec: null, nonce: Buffer, key: Buffer): number
    crypto_aead_xchacha20poly1305_ietf_decrypt (message: Buffer, nsec: null, ciphertext: Buffer, aad: Buffer | null, nonce: Buffer, key: Buffer): number
    readonly crypto_aead_xchacha20poly1305_ietf_ABYTES: number
    randombytes_buf (out: Buffer): void
  }
  const sodium: Sodium
  export default sodium
}
