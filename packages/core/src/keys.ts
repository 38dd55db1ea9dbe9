/**
 * Key material. A user's keys come from a BIP39 recovery phrase, so the same
 * phrase on a new device restores them; an institution's are random. Writing
 * key files (owner-only) is the caller's job: core does no I/O.
 */
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from './bytes.js'
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

/** Derives a user's keys from their recovery phrase; BAD_MNEMONIC if the phrase is not valid BIP39. */
export function userKeysFromPhrase (phrase: string, crypto: CryptoProvider): UserKeys {
  const normalised = phrase.trim().toLowerCase().split(/\s+/).join(' ')
  if (!validateMnemonic(normalised, wordlist)) {
    throw new CoreError('BAD_MNEMONIC', 'recovery phrase is not a valid BIP39 English mnemonic')
  }
  const seed = mnemonicToSeedSync(normalised)
  const signSeed = hkdf(sha256, seed, USER_KEY_SALT, utf8ToBytes('sign'), 32)
  const boxSecret = hkdf(sha256, seed, USER_KEY_SALT, utf8ToBytes('box'), 32)
  const sign = crypto.signKeyPairFromSeed(signSeed)
  const box = { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret }
  return { sign, box, userId: userIdFromKey(sign.publicKey) }
}

/** Fresh random keys for an institution or for the governance key. */
export function generatePartyKeys (crypto: CryptoProvider): PartyKeys {
  const sign = crypto.signKeyPairFromSeed(crypto.randomBytes(32))
  const boxSecret = crypto.randomBytes(32)
  return { sign, box: { publicKey: crypto.x25519PublicKey(boxSecret), secretKey: boxSecret } }
}
