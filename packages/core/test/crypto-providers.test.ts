/**
 * The two CryptoProviders must be interchangeable: one Ed25519 verdict
 * (libsodium's, the one Hypercore uses) on every input, the same X25519
 * results, and ciphertexts that each can open for the other.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'
import { nobleProvider, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { deterministicStream } from './helpers/deterministic-crypto.js'
import { expectCode, PROVIDERS } from './helpers/expect-code.js'

const SPECCHECK = new URL('./vectors/ed25519-speccheck-cases.json', import.meta.url)
/** libsodium's measured verdicts on the 15 speccheck cases (vectors/README.md): only case 6 is accepted. */
const LIBSODIUM_VERDICTS = [false, false, false, false, false, false, true, false, false, false, false, false, false, false, false]

const Point = ed25519.Point
const L = Point.Fn.ORDER
const P = Point.Fp.ORDER

function le (n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { out[i] = Number(n & 0xffn); n >>= 8n }
  return out
}
function fromLe (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}
function mod (a: bigint, m: bigint): bigint {
  return ((a % m) + m) % m
}
/** k = SHA-512(R || A || M) mod L, the Ed25519 challenge. */
function challenge (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return mod(fromLe(sha512(concatBytes(r, a, m))), L)
}

const verdicts = (m: Uint8Array, sig: Uint8Array, pk: Uint8Array) =>
  ({ noble: nobleProvider.verify(m, sig, pk), sodium: sodiumProvider.verify(m, sig, pk) })

describe('Ed25519 speccheck vectors', () => {
  it('are present', () => {
    if (!existsSync(SPECCHECK)) {
      expect.fail(`missing ${fileURLToPath(SPECCHECK)}`)
    }
  })

  const cases = existsSync(SPECCHECK)
    ? (JSON.parse(readFileSync(SPECCHECK, 'utf8')) as Array<{ message: string, pub_key: string, signature: string }>)
    : []

  it('hold the 15 cases the README measures', () => {
    expect(cases).toHaveLength(LIBSODIUM_VERDICTS.length)
  })

  it.each(cases.map((c, i) => [i, c] as const))('case %i: both providers give libsodium\'s verdict', (i, c) => {
    const expected = LIBSODIUM_VERDICTS[i]
    expect(verdicts(hexToBytes(c.message), hexToBytes(c.signature), hexToBytes(c.pub_key))).toEqual({ noble: expected, sodium: expected })
  })
})

describe('Ed25519 must-reject cases of our own', () => {
  const seed = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
  const keys = nobleProvider.signKeyPairFromSeed(seed)
  const message = new TextEncoder().encode('healthchain must-reject')
  const honest = nobleProvider.sign(message, keys.secretKey)
  // The secret scalar a (clamped SHA-512 of the seed), to forge equation-satisfying signatures.
  const a = mod(fromLe((() => { const h = sha512(seed).slice(0, 32); h[0]! &= 248; h[31]! &= 127; h[31]! |= 64; return h })()), L)
  // An order-8 point (speccheck's small-order key) and the identity.
  const T8 = Point.fromBytes(hexToBytes('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'), true)
  const identity = le(1n)

  it('the honest signature verifies (control)', () => {
    expect(verdicts(message, honest, keys.publicKey)).toEqual({ noble: true, sodium: true })
    // T8 has order exactly 8.
    expect(T8.isSmallOrder()).toBe(true)
    expect(T8.multiplyUnsafe(4n).is0()).toBe(false)
  })

  const reject = (name: string, make: () => { m: Uint8Array, sig: Uint8Array, pk: Uint8Array }) =>
    it(name, () => {
      const { m, sig, pk } = make()
      expect(verdicts(m, sig, pk)).toEqual({ noble: false, sodium: false })
    })

  reject('S + L (malleated S that satisfies the equation)', () => {
    const s = fromLe(honest.subarray(32))
    return { m: message, sig: concatBytes(honest.subarray(0, 32), le(s + L)), pk: keys.publicKey }
  })
  reject('S = L', () => ({ m: message, sig: concatBytes(honest.subarray(0, 32), le(L)), pk: keys.publicKey }))
  reject('S = 2^256 - 1', () => ({ m: message, sig: concatBytes(honest.subarray(0, 32), new Uint8Array(32).fill(0xff)), pk: keys.publicKey }))
  reject('identity public key, R = identity, S = 0 (verifies any message without the small-order rules)', () => (
    { m: message, sig: concatBytes(identity, new Uint8Array(32)), pk: identity }))
  reject('identity public key, R = [s]B, S = s (the equation holds; only the key check refuses)', () => {
    const s = 12345678901234567890n
    return { m: message, sig: concatBytes(Point.BASE.multiply(s).toBytes(), le(s)), pk: identity }
  })
  reject('order-8 public key', () => ({ m: message, sig: honest, pk: T8.toBytes() }))
  reject('order-2 public key (y = -1)', () => ({ m: message, sig: honest, pk: le(P - 1n) }))
  reject('order-4 public key (y = 0)', () => ({ m: message, sig: honest, pk: le(0n) }))
  reject('non-canonical identity (y = p + 1)', () => ({ m: message, sig: concatBytes(identity, new Uint8Array(32)), pk: le(P + 1n) }))
  reject('non-canonical public key: y + p for a y that is on the curve and not of small order', () => {
    for (let y = 2n; y < 19n; y++) {
      let point
      try { point = Point.fromBytes(le(y), false) } catch { continue }
      if (point.isSmallOrder()) continue
      return { m: message, sig: honest, pk: le(y + P) }
    }
    throw new Error('no such y below 19')
  })
  reject('R = identity with S = k·a (the cofactorless equation holds; only the R check refuses)', () => {
    const k = challenge(identity, keys.publicKey, message)
    return { m: message, sig: concatBytes(identity, le(mod(k * a, L))), pk: keys.publicKey }
  })
  reject('R of order 8 with a mixed-order key, S = k·a (the equation holds; only the R check refuses)', () => {
    // A = aB + c·T8 and R = T8: [S]B - [k]A = -k·c·T8, which is R when k·c ≡ -1 (mod 8).
    for (let i = 0; i < 1000; i++) {
      const m = concatBytes(message, le(BigInt(i), 4))
      for (const c of [1n, 3n, 5n, 7n]) {
        const A = Point.BASE.multiply(a).add(T8.multiply(c)).toBytes()
        const R = T8.toBytes()
        const k = challenge(R, A, m)
        if (mod(k * c, 8n) === 7n) {
          const sig = concatBytes(R, le(mod(k * a, L)))
          // Prove the forgery satisfies the bare equation, so the refusal is the small-order-R rule's doing.
          expect(Point.BASE.multiplyUnsafe(fromLe(sig.subarray(32))).subtract(Point.fromBytes(A).multiplyUnsafe(k)).equals(T8)).toBe(true)
          return { m, sig, pk: A }
        }
      }
    }
    throw new Error('no message found')
  })
  reject('R = the identity encoded non-canonically (y = p + 1), S = k·a', () => {
    // [S]B - [k]A is the identity, whose canonical bytes differ from R's: refused by the blocklist and the byte compare.
    const R = le(P + 1n)
    return { m: message, sig: concatBytes(R, le(mod(challenge(R, keys.publicKey, message) * a, L))), pk: keys.publicKey }
  })
  reject('signature of 63 bytes', () => ({ m: message, sig: honest.subarray(0, 63), pk: keys.publicKey }))
  reject('signature of 65 bytes', () => ({ m: message, sig: concatBytes(honest, new Uint8Array(1)), pk: keys.publicKey }))
  reject('empty signature', () => ({ m: message, sig: new Uint8Array(0), pk: keys.publicKey }))
  reject('public key of 31 bytes', () => ({ m: message, sig: honest, pk: keys.publicKey.subarray(0, 31) }))
  reject('public key of 33 bytes', () => ({ m: message, sig: honest, pk: concatBytes(keys.publicKey, new Uint8Array(1)) }))
  reject('all-zero signature and key', () => ({ m: message, sig: new Uint8Array(64), pk: new Uint8Array(32) }))
})

describe('Ed25519 agreement on honest, mixed-order and mutated signatures', () => {
  const random = deterministicStream('crypto-providers/ed25519')

  it('300 honest signatures: identical bytes from both, accepted by both; every mutation refused by both', () => {
    let mutations = 0
    for (let i = 0; i < 300; i++) {
      const seed = random(32)
      const message = random(random(1)[0]! % 96)
      const noble = nobleProvider.signKeyPairFromSeed(seed)
      const sodium = sodiumProvider.signKeyPairFromSeed(seed)
      expect(bytesToHex(sodium.publicKey)).toBe(bytesToHex(noble.publicKey))
      expect(bytesToHex(sodium.secretKey)).toBe(bytesToHex(noble.secretKey))
      const sig = nobleProvider.sign(message, noble.secretKey)
      expect(bytesToHex(sodiumProvider.sign(message, sodium.secretKey))).toBe(bytesToHex(sig))
      expect(verdicts(message, sig, noble.publicKey)).toEqual({ noble: true, sodium: true })

      // One bit flipped in each part: R, S (low and high half), the key, the message.
      const r = random(8)
      const flips: Array<{ m: Uint8Array, sig: Uint8Array, pk: Uint8Array }> = [
        { m: message, sig: flip(sig, r[0]! % 32, r[1]! % 8), pk: noble.publicKey },
        { m: message, sig: flip(sig, 32 + (r[2]! % 16), r[3]! % 8), pk: noble.publicKey },
        { m: message, sig: flip(sig, 48 + (r[2]! % 16), r[3]! % 8), pk: noble.publicKey },
        { m: message, sig, pk: flip(noble.publicKey, r[4]! % 32, r[5]! % 8) }
      ]
      if (message.length > 0) flips.push({ m: flip(message, r[6]! % message.length, r[7]! % 8), sig, pk: noble.publicKey })
      for (const f of flips) {
        expect(verdicts(f.m, f.sig, f.pk)).toEqual({ noble: false, sodium: false })
        mutations++
      }
    }
    expect(mutations).toBeGreaterThan(1400)
  })

  it('mixed-order keys (A + torsion): the cofactorless equation decides, and both agree', () => {
    // Signing with a for the key aB + T accepts exactly when [k]T = 0, i.e. for about 1 in 8 messages (order-8 T).
    const T8 = Point.fromBytes(hexToBytes('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'), true)
    const count = { accepted: 0, refused: 0 }
    for (let i = 0; i < 160; i++) {
      const a = mod(fromLe(random(32)), L - 1n) + 1n
      const A = Point.BASE.multiply(a).add(T8.multiply(BigInt(1 + (i % 7)))).toBytes()
      const m = random(20)
      const r = mod(fromLe(random(64)), L - 1n) + 1n
      const R = Point.BASE.multiply(r).toBytes()
      const k = challenge(R, A, m)
      const sig = concatBytes(R, le(mod(r + k * a, L)))
      const v = verdicts(m, sig, A)
      expect(v.noble, `case ${i}`).toBe(v.sodium)
      // Independent expectation: cofactorless verification holds iff k·c·T8 = 0, i.e. k·c ≡ 0 (mod 8).
      expect(v.sodium).toBe(mod(k * BigInt(1 + (i % 7)), 8n) === 0n)
      count[v.sodium ? 'accepted' : 'refused']++
    }
    expect(count.accepted).toBeGreaterThan(0)
    expect(count.refused).toBeGreaterThan(0)
  })

  it('random garbage never verifies and never throws', () => {
    for (let i = 0; i < 100; i++) {
      expect(verdicts(random(32), random(64), random(32))).toEqual({ noble: false, sodium: false })
    }
  })
})

function flip (bytes: Uint8Array, index: number, bit: number): Uint8Array {
  const out = bytes.slice()
  out[index]! ^= 1 << bit
  return out
}

describe('X25519 and XChaCha20-Poly1305 agreement', () => {
  const random = deterministicStream('crypto-providers/x25519')

  it('public keys and shared secrets are equal under both providers', () => {
    for (let i = 0; i < 50; i++) {
      const a = random(32)
      const b = random(32)
      const pubA = nobleProvider.x25519PublicKey(a)
      const pubB = sodiumProvider.x25519PublicKey(b)
      expect(bytesToHex(sodiumProvider.x25519PublicKey(a))).toBe(bytesToHex(pubA))
      expect(bytesToHex(nobleProvider.x25519PublicKey(b))).toBe(bytesToHex(pubB))
      const shared = nobleProvider.x25519(a, pubB)
      expect(bytesToHex(sodiumProvider.x25519(b, pubA))).toBe(bytesToHex(shared))
      expect(bytesToHex(sodiumProvider.x25519(a, pubB))).toBe(bytesToHex(shared))
    }
  })

  it('RFC 7748 §6.1 Diffie-Hellman vector', () => {
    const alice = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const bobPub = hexToBytes('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    for (const crypto of PROVIDERS) {
      expect(bytesToHex(crypto.x25519PublicKey(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
      expect(bytesToHex(crypto.x25519(alice, bobPub))).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
    }
  })

  // Every u-coordinate of small order, canonical and not (libsodium's blocklist), and one with the top bit set.
  const smallOrder: Array<[string, bigint]> = [
    ['0 (order 4)', 0n],
    ['1 (order 1)', 1n],
    ['order 8 (a)', 325606250916557431795983626356110631294008115727848805560023387167927233504n],
    ['order 8 (b)', 39382357235489614581723060781553021112529911719440698176882885853963445705823n],
    ['p - 1 (order 2)', P - 1n],
    ['p (= 0)', P],
    ['p + 1 (= 1)', P + 1n],
    ['0 with the top bit set', 1n << 255n]
  ]
  it.each(smallOrder)('x25519 with the small-order public key %s throws BAD_KEY in both', (_name, u) => {
    const secret = random(32)
    for (const crypto of PROVIDERS) expectCode(() => crypto.x25519(secret, le(u)), 'BAD_KEY')
  })

  it('x25519 with a public key of the wrong length throws BAD_KEY in both', () => {
    const secret = random(32)
    const pub = nobleProvider.x25519PublicKey(random(32))
    for (const crypto of PROVIDERS) {
      expectCode(() => crypto.x25519(secret, pub.subarray(0, 31)), 'BAD_KEY')
      expectCode(() => crypto.x25519(secret, concatBytes(pub, new Uint8Array(1))), 'BAD_KEY')
    }
  })

  it('XChaCha20-Poly1305: each provider opens the other\'s ciphertext; tampering fails in both', () => {
    const pairs: Array<[CryptoProvider, CryptoProvider]> = [[nobleProvider, sodiumProvider], [sodiumProvider, nobleProvider]]
    for (let i = 0; i < 40; i++) {
      const key = random(32)
      const nonce = random(24)
      const plaintext = random(i * 7)
      const aad = random(i % 5 === 0 ? 0 : 13)
      const [enc, dec] = pairs[i % 2]!
      const ct = enc.aeadEncrypt(key, nonce, plaintext, aad)
      expect(ct.length).toBe(plaintext.length + 16)
      expect(bytesToHex(dec.aeadEncrypt(key, nonce, plaintext, aad))).toBe(bytesToHex(ct))
      expect(bytesToHex(dec.aeadDecrypt(key, nonce, ct, aad)!)).toBe(bytesToHex(plaintext))
      for (const crypto of PROVIDERS) {
        expect(crypto.aeadDecrypt(key, nonce, flip(ct, i % ct.length, i % 8), aad)).toBeNull()
        expect(crypto.aeadDecrypt(key, flip(nonce, i % 24, 0), ct, aad)).toBeNull()
        expect(crypto.aeadDecrypt(flip(key, i % 32, 1), nonce, ct, aad)).toBeNull()
        expect(crypto.aeadDecrypt(key, nonce, ct, concatBytes(aad, new Uint8Array(1)))).toBeNull()
        expect(crypto.aeadDecrypt(key, nonce, ct.subarray(0, 15), aad)).toBeNull()
      }
    }
  })
})
