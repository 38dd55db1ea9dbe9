/**
 * Key material. A user's keys come from a BIP39 recovery phrase, so the same
 * phrase on a new device restores them; an institution's are random. Writing
 * key files (owner-only) is the caller's job: core does no I/O.
 */
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { assertBytes, concatBytes, domainTag, utf8ToBytes } from './bytes.js'
import { CoreError } from './errors.js'
import { userIdFromKey, type UserId } from './ids.js'
import type { CryptoProvider } from './crypto/provider.js'

export interface SigningKeyPair {
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array
  /** Ed25519 secret key, seed || public key, 64 bytes. */
  readonly secretKey: Uint8Array
}

export interface BoxKeyPair {
  /** X25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array
  /** X25519 secret key, 32 bytes. */
  readonly secretKey: Uint8Array
}

/** The two key pairs every party holds: one to sign, one to receive sealed data. */
export interface PartyKeys {
  readonly sign: SigningKeyPair
  readonly box: BoxKeyPair
}

export interface UserKeys extends PartyKeys {
  readonly userId: UserId
}

const USER_KEY_SALT = utf8ToBytes('healthchain/v1/user-keys')

/** A new 24-word English recovery phrase (256 bits of entropy). */
export function newRecoveryPhrase (): string {
  return generateMnemonic(wordlist, 256)
}

/**
 * Derives a user's keys of `generation` from their recovery phrase;
 * BAD_MNEMONIC if the phrase is not valid BIP39. Generation 0 is the key
 * pair of the genesis (HKDF info `sign` / `box`); generation g >= 1 uses info
 * `sign/g` / `box/g` (decimal), the keys a rekey entry reveals. The user id is
 * always generation 0's: it names the person, not the key in force.
 */
export function userKeysFromPhrase (phrase: string, crypto: CryptoProvider, generation = 0): UserKeys {
  if (!Number.isSafeInteger(generation) || generation < 0) {
    throw new CoreError('INVALID_FIELD', `generation: expected a non-negative integer, got ${generation}`, { field: 'generation' })
  }
  const normalised = phrase.trim().toLowerCase().split(/\s+/).join(' ')
  if (!validateMnemonic(normalised, wordlist)) {
    throw new CoreError('BAD_MNEMONIC', 'recovery phrase is not a valid BIP39 English mnemonic')
  }
  const seed = mnemonicToSeedSync(normalised)
  const suffix = generation === 0 ? '' : `/${generation}`
  const signSeed = hkdf(sha256, seed, USER_KEY_SALT, utf8ToBytes(`sign${suffix}`), 32)
  const boxSecret = hkdf(sha256, seed, USER_KEY_SALT, utf8ToBytes(`box${suffix}`), 32)
  const sign = crypto.signKeyPairFromSeed(signSeed)
  const box = { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret }
  const first = generation === 0 ? sign.publicKey : crypto.signKeyPairFromSeed(hkdf(sha256, seed, USER_KEY_SALT, utf8ToBytes('sign'), 32)).publicKey
  return { sign, box, userId: userIdFromKey(first) }
}

/** Domain of the pre-rotation commitment: a genesis or rekey names the digest of the next generation's public keys. */
export const NEXT_KEYS_DOMAIN = 'healthchain/v1/next-keys'
const NEXT_KEYS_DOMAIN_BYTES = domainTag(NEXT_KEYS_DOMAIN)

/** A user's two public keys, as bytes or as the key pairs that hold them. */
export interface UserPublicKeys {
  readonly sign: Uint8Array | { readonly publicKey: Uint8Array }
  readonly box: Uint8Array | { readonly publicKey: Uint8Array }
}

const publicOf = (k: Uint8Array | { readonly publicKey: Uint8Array }): Uint8Array => k instanceof Uint8Array ? k : k.publicKey

/**
 * The commitment to a generation's keys:
 * SHA-256("healthchain/v1/next-keys" 0x00 ‖ Ed25519 public key (32) ‖ X25519 public key (32)).
 * Only the digest is published, so whoever holds only the current key
 * cannot rotate first (KERI's pre-rotation).
 */
export function nextKeyDigest (keys: UserPublicKeys): Uint8Array {
  const sign = publicOf(keys.sign)
  const box = publicOf(keys.box)
  assertBytes(sign, 32, 'sign')
  assertBytes(box, 32, 'box')
  return sha256(concatBytes(NEXT_KEYS_DOMAIN_BYTES, sign, box))
}

/** Fresh random keys for an institution or for the governance key. */
export function generatePartyKeys (crypto: CryptoProvider): PartyKeys {
  const sign = crypto.signKeyPairFromSeed(crypto.randomBytes(32))
  const boxSecret = crypto.randomBytes(32)
  return { sign, box: { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret } }
}
