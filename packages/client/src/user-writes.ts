/**
 * The entries a user writes to their own chain, built and signed the same
 * way whichever path carries them: the phone's light peer (PhoneClient,
 * over libp2p) and a node's HTTP API (the CLI's `user` commands). Only the
 * transport differs (resign.ts sends through either).
 *
 * Core validates every entry; its refusals come out as INVALID_INPUT with
 * the field core names, before anything is queued or sent.
 */
import {
  buildErasure, buildGenesis, buildRevoke, buildUserEntry, ephemeralKeyPair, isRecipient, nextKeyDigest, recoverDataKey, signEntry, wrapDataKey,
  type BoxKeyPair, type CryptoProvider, type Entry, type ExercisePlain, type InstitutionId, type LocationPlain, type Sealed,
  type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { ClientError, invalidInput } from './errors.js'

/**
 * Re-wrapped data keys one grant entry carries; a longer history takes
 * several grants. 1,000 is core's schema limit for one grant, and it fits a
 * block with room to spare: a re-wrapped key is a CBOR map of `seq` (at most
 * 9 bytes) and `wrap` (48 bytes), 69 bytes at most with its keys and
 * headers, so 1,000 of them take under 69 KB of the 128 KiB MAX_ENTRY_BYTES,
 * the rest of the entry a few hundred bytes. Fewer per grant would only make
 * more entries for the same history.
 */
export const REWRAP_KEYS_PER_GRANT = 1000

/** A past sealed entry of the chain: its position, id and sealed segment (whose data key the user can open). */
export interface SealedPast {
  readonly seq: number
  readonly id: Uint8Array
  readonly sealed: Sealed
  /** The key of the core the entry was written in (UserChain.keyAt), when the chain moved since; default the grant's `chainKey`. */
  readonly chainKey?: Uint8Array
}

/** `items` in grant-sized parts (REWRAP_KEYS_PER_GRANT each, the last one shorter); one empty part for none, since a grant needs no history. */
export function grantChunks<T> (items: readonly T[]): T[][] {
  if (items.length === 0) return [[]]
  const chunks: T[][] = []
  for (let i = 0; i < items.length; i += REWRAP_KEYS_PER_GRANT) chunks.push(items.slice(i, i + REWRAP_KEYS_PER_GRANT))
  return chunks
}

export interface GrantEntriesInput {
  readonly examiner: InstitutionId
  /** The examiner's X25519 key, from the registry. */
  readonly examinerBox: Uint8Array
  /** Access ends at this time (exclusive), ms since the epoch. */
  readonly until?: number
  /** The sealed entries whose data keys the examiner receives; those the user is not a recipient of are left out. */
  readonly history: readonly SealedPast[]
  readonly chainKey: Uint8Array
  /** The user's X25519 key pair, to recover each data key; after rotations, every generation's (each entry opens with the one it was sealed to). */
  readonly userBox: BoxKeyPair | readonly BoxKeyPair[]
}

/**
 * The consent grants for `examiner`: later exams are sealed for it too, and
 * the data keys of `history` are re-wrapped for it (one ephemeral key per
 * grant entry, the info naming each entry's id), REWRAP_KEYS_PER_GRANT per
 * entry. Returns the entries in order and how many keys they carry.
 */
export function buildGrantEntries (input: GrantEntriesInput, crypto: CryptoProvider): { entries: UnsignedEntry[], rewrapped: number } {
  const boxes: readonly BoxKeyPair[] = Array.isArray(input.userBox) ? input.userBox : [input.userBox as BoxKeyPair]
  const boxOf = (sealed: Sealed): BoxKeyPair | undefined => boxes.find((box) => isRecipient(sealed, box.publicKey))
  const history = input.history.filter((h) => boxOf(h.sealed) !== undefined)
  const until = input.until === undefined ? {} : { until: input.until }
  const entries = grantChunks(history).map((chunk) => build(() => {
    if (chunk.length === 0) return buildUserEntry('consent', { action: 'grant', examiner: input.examiner, ...until }, {}, crypto)
    const eph = ephemeralKeyPair(crypto)
    const keys = chunk.map(({ seq, id, sealed, chainKey }) => {
      // Bound to the entry's own segment key, as its seal is.
      const ctx = { chainKey: chainKey ?? input.chainKey, entryId: id }
      return { seq, wrap: wrapDataKey(recoverDataKey(sealed, boxOf(sealed)!, ctx, crypto), input.examinerBox, eph, ctx, crypto) }
    })
    return buildUserEntry('consent', { action: 'grant', examiner: input.examiner, ...until, rewrap: { to: input.examinerBox, epk: eph.publicKey, keys } }, {}, crypto)
  }))
  return { entries, rewrapped: history.length }
}

/** A consent revocation: later exams are no longer sealed for `examiner`. */
export function buildRevokeEntry (examiner: InstitutionId, crypto: CryptoProvider): UnsignedEntry {
  return build(() => buildRevoke(examiner, {}, crypto))
}

/** An erasure of the entries at `seqs` (exam, exercise or location; the custodian checks which). */
export function buildErasureEntry (seqs: readonly number[], crypto: CryptoProvider): UnsignedEntry {
  return build(() => buildErasure(seqs, {}, crypto))
}

/** An exercise entry (a period with steps, distance, energy, heart rate). */
export function buildExerciseEntry (plain: ExercisePlain, crypto: CryptoProvider): UnsignedEntry {
  return build(() => buildUserEntry('exercise', plain, {}, crypto))
}

/** A location entry (up to core's limit of points; `locationPlains` splits a track). */
export function buildLocationEntry (plain: LocationPlain, crypto: CryptoProvider): UnsignedEntry {
  return build(() => buildUserEntry('location', plain, {}, crypto))
}

/**
 * The genesis that enrols the user at `custodian`: the user's public keys
 * and the custodian, signed by the user for position 0 of the chain key
 * the custodian will give the chain (`ledger.chainKeyFor(user)` there).
 */
export function buildEnrolmentGenesis (
  user: UserKeys, custodian: InstitutionId, chainKey: Uint8Array, crypto: CryptoProvider, opts: { time?: number, next?: UserKeys } = {}
): Entry {
  try {
    // `next`: generation 1's keys (from the phrase), committed to so the user can rotate later.
    const common = { ...(opts.time === undefined ? {} : { time: opts.time }), ...(opts.next === undefined ? {} : { next: nextKeyDigest(opts.next) }) }
    return signEntry(buildGenesis(user, custodian, common, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
  } catch (err) {
    throw invalidInput(err)
  }
}

/** The user's signature over `unsigned` for position `seq` of `chainKey`: valid in that one slot only. */
export function signUserEntry (
  unsigned: UnsignedEntry, user: UserKeys, slot: { readonly chainKey: Uint8Array, readonly seq: number }, crypto: CryptoProvider
): Entry {
  return signEntry(unsigned, slot, user.sign.secretKey, crypto)
}

/** Runs one of core's builders, its refusals as INVALID_INPUT. */
function build (make: () => UnsignedEntry): UnsignedEntry {
  try {
    return make()
  } catch (err) {
    if (err instanceof ClientError) throw err
    throw invalidInput(err)
  }
}
