/**
 * Sealed segments.
 *
 *   data key   K  = 32 random bytes, fresh per entry
 *   ciphertext ct = XChaCha20-Poly1305(K, nonce = 24 random bytes, CBOR(payload), aad)
 *   aad           = "healthchain/v1/seal" 0x00 || chain key || entry id
 *
 * K is wrapped for each recipient R (an X25519 public key) from one ephemeral
 * key pair e per entry:
 *
 *   kek  = HKDF-SHA256(ikm = X25519(e, R), salt = epk || R,
 *                      info = "healthchain/v1/wrap" 0x00 || chain key || entry id, 32)
 *   wrap = XChaCha20-Poly1305(kek, nonce = 24 zero bytes, K, aad = empty)   (48 bytes)
 *
 * A zero nonce is safe because each kek encrypts exactly one message: it is
 * unique to (ephemeral key, recipient, chain, entry). Binding chain and entry
 * into both the aad and the kek means a sealed segment or a wrapped key moved
 * to another entry or chain does not open.
 *
 * Consent grants re-wrap past entries' data keys for a new examiner the same
 * way, one ephemeral key per grant, the info naming the past entry's id.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { assertBytes, concatBytes, domainTag, equal } from './bytes.js'
import { CoreError } from './errors.js'
import { decodeCanonical, encodeCanonical } from './encoding.js'
import { validateExamSealed, type ExamSealed, type Sealed } from './entry.js'
import type { BoxKeyPair } from './keys.js'
import type { CryptoProvider } from './crypto/provider.js'

const SEAL_AAD_DOMAIN = domainTag('healthchain/v1/seal')
const WRAP_INFO_DOMAIN = domainTag('healthchain/v1/wrap')
const ZERO_NONCE = new Uint8Array(24)
const EMPTY = new Uint8Array(0)

/** What a data key is bound to: the chain and the entry it encrypts. */
export interface SealContext {
  readonly chainKey: Uint8Array
  readonly entryId: Uint8Array
}

function sealAad (ctx: SealContext): Uint8Array {
  assertBytes(ctx.chainKey, 32, 'chainKey')
  assertBytes(ctx.entryId, 16, 'entryId')
  return concatBytes(SEAL_AAD_DOMAIN, ctx.chainKey, ctx.entryId)
}

function keyEncryptionKey (shared: Uint8Array, epk: Uint8Array, recipient: Uint8Array, ctx: SealContext): Uint8Array {
  return hkdf(sha256, shared, concatBytes(epk, recipient), concatBytes(WRAP_INFO_DOMAIN, ctx.chainKey, ctx.entryId), 32)
}

/** An ephemeral X25519 key pair for one round of wrapping. */
export function ephemeralKeyPair (crypto: CryptoProvider): BoxKeyPair {
  const secretKey = crypto.randomBytes(32)
  return { secretKey, publicKey: crypto.x25519PublicKey(secretKey) }
}

/** Wraps `dataKey` for one recipient from the ephemeral key pair `eph`. */
export function wrapDataKey (dataKey: Uint8Array, recipient: Uint8Array, eph: BoxKeyPair, ctx: SealContext, crypto: CryptoProvider): Uint8Array {
  assertBytes(recipient, 32, 'recipient')
  const kek = keyEncryptionKey(crypto.x25519(eph.secretKey, recipient), eph.publicKey, recipient, ctx)
  return crypto.aeadEncrypt(kek, ZERO_NONCE, dataKey, EMPTY)
}

/** Unwraps a data key wrapped for `box`; null when it was not wrapped for this key or was altered. */
export function unwrapDataKey (wrap: Uint8Array, epk: Uint8Array, box: BoxKeyPair, ctx: SealContext, crypto: CryptoProvider): Uint8Array | null {
  let shared: Uint8Array
  try {
    shared = crypto.x25519(box.secretKey, epk)
  } catch {
    return null
  }
  const kek = keyEncryptionKey(shared, epk, box.publicKey, ctx)
  return crypto.aeadDecrypt(kek, ZERO_NONCE, wrap, EMPTY)
}

/** Seals an exam's sealed payload for `recipients` (X25519 public keys, duplicates removed). */
export function seal (
  payload: ExamSealed, recipients: readonly Uint8Array[], ctx: SealContext, crypto: CryptoProvider
): { sealed: Sealed, dataKey: Uint8Array } {
  const unique: Uint8Array[] = []
  for (const r of recipients) {
    assertBytes(r, 32, 'recipient')
    if (!unique.some((u) => equal(u, r))) unique.push(r)
  }
  if (unique.length === 0) throw new CoreError('INVALID_FIELD', 'sealed: at least one recipient is required', { field: 'sealed.to' })
  const plaintext = encodeCanonical(validateExamSealed(payload))
  const dataKey = crypto.randomBytes(32)
  const nonce = crypto.randomBytes(24)
  const ct = crypto.aeadEncrypt(dataKey, nonce, plaintext, sealAad(ctx))
  const eph = ephemeralKeyPair(crypto)
  const to = unique.map((key) => ({ key, wrap: wrapDataKey(dataKey, key, eph, ctx, crypto) }))
  return { sealed: { epk: eph.publicKey, nonce, ct, to }, dataKey }
}

/** Decrypts a sealed segment with its data key; DECRYPT_FAILED if it was altered or moved. */
export function openWithDataKey (sealed: Sealed, dataKey: Uint8Array, ctx: SealContext, crypto: CryptoProvider): ExamSealed {
  const plaintext = crypto.aeadDecrypt(dataKey, sealed.nonce, sealed.ct, sealAad(ctx))
  if (plaintext === null) throw new CoreError('DECRYPT_FAILED', 'sealed segment failed authentication')
  return validateExamSealed(decodeCanonical(plaintext))
}

/** The data key of a sealed segment for `box`; NOT_RECIPIENT if `box` is not among its recipients. */
export function recoverDataKey (sealed: Sealed, box: BoxKeyPair, ctx: SealContext, crypto: CryptoProvider): Uint8Array {
  const slot = sealed.to.find((r) => equal(r.key, box.publicKey))
  if (slot === undefined) throw new CoreError('NOT_RECIPIENT', 'this key is not a recipient of the sealed segment')
  const dataKey = unwrapDataKey(slot.wrap, sealed.epk, box, ctx, crypto)
  if (dataKey === null) throw new CoreError('DECRYPT_FAILED', 'wrapped data key failed authentication')
  return dataKey
}

/** Opens a sealed segment as one of its recipients. */
export function openSealed (sealed: Sealed, box: BoxKeyPair, ctx: SealContext, crypto: CryptoProvider): ExamSealed {
  return openWithDataKey(sealed, recoverDataKey(sealed, box, ctx, crypto), ctx, crypto)
}

/** Whether the sealed segment names `publicKey` as a recipient (no decryption). */
export function isRecipient (sealed: Sealed, publicKey: Uint8Array): boolean {
  return sealed.to.some((r) => equal(r.key, publicKey))
}
