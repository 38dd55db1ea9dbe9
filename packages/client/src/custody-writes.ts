/**
 * The user's side of moving a chain and rotating keys, built and checked on
 * the user's device whichever transport carries them (a node's HTTP API for
 * the CLI, the phone's light peer):
 *
 *   buildRotatableGenesis  a genesis committing to generation 1's keys, so the
 *                          chain can rekey later (a genesis without it cannot)
 *   checkOffer             a new custodian's offer, checked before the user signs:
 *                          it continues this user's chain (the genesis the user
 *                          signed heads its first core), moves it to the asked
 *                          institution, and its old head verifies (checkMigrate)
 *   signMigrate            the migrate for the offer, signed with the key in force
 *   buildRotation          the rekey revealing generation g + 1 (from the phrase),
 *                          signed by the revealed key, committing to g + 2
 *   generationOf           the chain's generation: the count of its rekeys
 *
 * Every generation derives from the one recovery phrase (userKeysFromPhrase
 * with the generation), so rotating never changes what the user keeps.
 */
import {
  buildGenesis, buildMigrate, buildRekey, checkMigrate, isHealthchainError, migratePlainSchema, nextKeyDigest, signEntry, userKeysFromPhrase,
  verifyEntrySignature, type CryptoProvider, type Entry, type InstitutionId, type MigratePlain, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { ClientError, invalidInput } from './errors.js'

/** A new custodian's offer as the device receives it: the continuation key, N, and the migrate's plain segment. */
export interface CustodyOffer {
  readonly key: Uint8Array
  readonly length: number
  readonly plain: MigratePlain
}

/** The genesis for `chainKey` at `custodian`, committing to generation 1 of `phrase`'s keys; signed for position 0. */
export function buildRotatableGenesis (
  phrase: string, custodian: InstitutionId, chainKey: Uint8Array, crypto: CryptoProvider, opts: { time?: number } = {}
): Entry {
  try {
    const user = userKeysFromPhrase(phrase, crypto)
    const next = nextKeyDigest(userPublicOf(userKeysFromPhrase(phrase, crypto, 1)))
    const unsigned = buildGenesis(user, custodian, { next, ...(opts.time === undefined ? {} : { time: opts.time }) }, crypto)
    return signEntry(unsigned, { chainKey, seq: 0 }, user.sign.secretKey, crypto)
  } catch (err) {
    throw invalidInput(err)
  }
}

/**
 * Throws unless `offer` moves `user`'s chain to `to`: the plain segment is a
 * migrate's (INVALID_INPUT), its old head verifies (INVALID_INPUT with the
 * field checkMigrate names), it names `to` (ROLE_FORBIDDEN), and `genesis`, the chain's block 0 as the node serves it, is signed by the
 * user's generation-0 key for the chain's first core (NOT_OWN_CHAIN).
 */
export function checkOffer (offer: CustodyOffer, user: UserKeys, to: InstitutionId, genesis: Entry, crypto: CryptoProvider): void {
  const parsed = migratePlainSchema.safeParse(offer.plain)
  if (!parsed.success || offer.plain.length !== offer.length) throw new ClientError('INVALID_INPUT', 'the offer is not a migrate for its own length', { field: 'plain' })
  try {
    checkMigrate(offer.plain, crypto)
  } catch (err) {
    if (isHealthchainError(err)) throw new ClientError('INVALID_INPUT', `the offer's old head does not verify: ${err.message}`, { field: err.field ?? 'plain', cause: err })
    throw err
  }
  if (offer.plain.to !== to) throw new ClientError('ROLE_FORBIDDEN', `the offer moves the chain to ${offer.plain.to}, not to ${to}`, { field: 'plain.to' })
  const first = offer.plain.lineage[0]?.key ?? offer.plain.from
  if (genesis.type !== 'genesis' || !verifyEntrySignature(genesis, { chainKey: first, seq: 0 }, user.sign.publicKey, crypto)) {
    throw new ClientError('NOT_OWN_CHAIN', 'the offer does not continue this user\'s chain: its first core\'s genesis is not signed by the user')
  }
}

/** The migrate for `offer`, signed by the user's key in force (`current`) for (offer.key, offer.length). */
export function signMigrate (offer: CustodyOffer, current: UserKeys, crypto: CryptoProvider, opts: { time?: number } = {}): Entry {
  try {
    const unsigned = buildMigrate(offer.plain, opts.time === undefined ? {} : { time: opts.time }, crypto)
    return signEntry(unsigned, { chainKey: offer.key, seq: offer.length }, current.sign.secretKey, crypto)
  } catch (err) {
    throw invalidInput(err)
  }
}

/**
 * The rekey taking a chain at `generation` to generation + 1: reveals that
 * generation's keys (from the phrase) and commits to the one after. Returns
 * the unsigned entry and the new keys, which sign it (and everything after).
 */
export function buildRotation (
  phrase: string, generation: number, crypto: CryptoProvider, opts: { time?: number } = {}
): { unsigned: UnsignedEntry, keys: UserKeys } {
  try {
    const keys = userKeysFromPhrase(phrase, crypto, generation + 1)
    const following = userKeysFromPhrase(phrase, crypto, generation + 2)
    return { unsigned: buildRekey(generation + 1, keys, following, opts.time === undefined ? {} : { time: opts.time }, crypto), keys }
  } catch (err) {
    throw invalidInput(err)
  }
}

/** A chain's key generation from its entry types in order: 0 from the genesis, one more per rekey. */
export function generationOf (types: Iterable<string>): number {
  let generation = 0
  for (const type of types) if (type === 'rekey') generation++
  return generation
}

/** Every generation's keys up to `generation`, newest first: the device opens old seals with the box key they were made for. */
export function keysUpTo (phrase: string, generation: number, crypto: CryptoProvider): UserKeys[] {
  const all: UserKeys[] = []
  for (let g = generation; g >= 0; g--) all.push(userKeysFromPhrase(phrase, crypto, g))
  return all
}

function userPublicOf (keys: UserKeys): { sign: Uint8Array, box: Uint8Array } {
  return { sign: keys.sign.publicKey, box: keys.box.publicKey }
}
