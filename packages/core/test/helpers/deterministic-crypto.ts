/**
 * A CryptoProvider whose `randomBytes` is a fixed stream, for reproducible
 * sealing in known-answer vectors. Everything else is the wrapped provider's.
 *
 *   block i = SHA-256("healthchain-test/rng" 0x00 || seed || u64be(i)),  i = 0, 1, 2, …
 *   stream  = block 0 || block 1 || …
 *
 * `randomBytes(n)` returns the next n bytes of the stream. The same seed gives
 * the same bytes under every provider, so noble and sodium seal identically.
 * Test-only: never use it for real keys.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes, domainTag, u64be, utf8ToBytes, type CryptoProvider } from '@healthchain/core'

const RNG_DOMAIN = domainTag('healthchain-test/rng')

export function deterministicStream (seed: string | Uint8Array): (length: number) => Uint8Array {
  const seedBytes = typeof seed === 'string' ? utf8ToBytes(seed) : seed
  let counter = 0
  let pool = new Uint8Array(0)
  return (length) => {
    while (pool.length < length) {
      pool = concatBytes(pool, sha256(concatBytes(RNG_DOMAIN, seedBytes, u64be(counter++))))
    }
    const out = pool.slice(0, length)
    pool = pool.slice(length)
    return out
  }
}

export function deterministicCrypto (base: CryptoProvider, seed: string | Uint8Array): CryptoProvider {
  const next = deterministicStream(seed)
  return {
    name: `${base.name}+deterministic`,
    signKeyPairFromSeed: (s) => base.signKeyPairFromSeed(s),
    sign: (m, sk) => base.sign(m, sk),
    verify: (m, sig, pk) => base.verify(m, sig, pk),
    x25519PublicKey: (sk) => base.x25519PublicKey(sk),
    x25519: (sk, pk) => base.x25519(sk, pk),
    aeadEncrypt: (k, n, p, a) => base.aeadEncrypt(k, n, p, a),
    aeadDecrypt: (k, n, c, a) => base.aeadDecrypt(k, n, c, a),
    randomBytes: (length) => next(length)
  }
}

/** 32 bytes derived from a label: fixed seeds and keys for tests and vectors. */
export function fixedBytes (label: string, length = 32): Uint8Array {
  return deterministicStream(`fixed/${label}`)(length)
}
