/**
 * Builders for entries before signing. Sealing is bound to the chain and the
 * entry id, not the position, so a forwarded write that must be re-signed for
 * another position keeps its sealed segment.
 */
import {
  ENTRY_VERSION, parseUnsignedEntry, type ConsentPlain, type Entry, type ExamPlain, type ExamSealed, type GenesisPlain, type PlainByType, type Sealed,
  type UnsignedEntry
} from './entry.js'
import { USER_AUTHOR, type InstitutionId } from './ids.js'
import { ephemeralKeyPair, recoverDataKey, seal, wrapDataKey } from './seal.js'
import { nextKeyDigest, type BoxKeyPair, type UserKeys } from './keys.js'
import type { MigratePlain } from './custody.js'
import type { CryptoProvider } from './crypto/provider.js'
import { CoreError } from './errors.js'

export function newEntryId (crypto: CryptoProvider): Uint8Array {
  return crypto.randomBytes(16)
}

interface Common {
  /** Defaults to a fresh random id; pass the same id to retry a write idempotently. */
  id?: Uint8Array
  /** Defaults to now. */
  time?: number
}

export interface GenesisOptions extends Common {
  /** The commitment to generation 1's keys (nextKeyDigest), so the user can rotate later; absent, the chain cannot. */
  next?: Uint8Array
}

export function buildGenesis (user: UserKeys, custodian: InstitutionId, opts: GenesisOptions, crypto: CryptoProvider): UnsignedEntry {
  const plain: GenesisPlain = { user: { sign: user.sign.publicKey, box: user.box.publicKey }, custodian }
  if (opts.next !== undefined) plain.next = opts.next
  return parseUnsignedEntry({
    v: ENTRY_VERSION,
    type: 'genesis',
    id: opts.id ?? newEntryId(crypto),
    time: opts.time ?? Date.now(),
    author: USER_AUTHOR,
    plain
  })
}

export type UserWritableType = 'exercise' | 'location' | 'consent' | 'erasure' | 'migrate' | 'rekey'

export function buildUserEntry<T extends UserWritableType> (type: T, plain: PlainByType[T], opts: Common, crypto: CryptoProvider): UnsignedEntry {
  return parseUnsignedEntry({
    v: ENTRY_VERSION,
    type,
    id: opts.id ?? newEntryId(crypto),
    time: opts.time ?? Date.now(),
    author: USER_AUTHOR,
    plain
  })
}

export interface ExamInput extends Common {
  /** The writing institution. */
  author: InstitutionId
  /** The registry length the author signs against. */
  reg: number
  plain: ExamPlain
  sealed: ExamSealed
  /** X25519 keys to seal for: the user, the author, and the granted examiners. */
  recipients: readonly Uint8Array[]
  chainKey: Uint8Array
}

export function buildExam (input: ExamInput, crypto: CryptoProvider): UnsignedEntry {
  const id = input.id ?? newEntryId(crypto)
  const { sealed } = seal(input.sealed, input.recipients, { chainKey: input.chainKey, entryId: id }, crypto)
  return assembleExam({ ...input, id, sealed })
}

export interface SealedExamInput {
  /** The id the sealed segment was sealed for (seal.ts binds it to the chain and the id). */
  id: Uint8Array
  time?: number
  author: InstitutionId
  reg: number
  plain: ExamPlain
  /** A sealed segment made by seal() for this chain and `id` (elsewhere, e.g. on a worker thread). */
  sealed: Sealed
}

/** An exam around a segment already sealed for its chain and id: buildExam without the sealing. */
export function assembleExam (input: SealedExamInput): UnsignedEntry {
  return parseUnsignedEntry({
    v: ENTRY_VERSION,
    type: 'exam',
    id: input.id,
    time: input.time ?? Date.now(),
    author: input.author,
    reg: input.reg,
    plain: input.plain,
    sealed: input.sealed
  })
}

export interface GrantInput extends Common {
  examiner: InstitutionId
  /** The examiner's X25519 public key, from the registry. */
  examinerBox: Uint8Array
  until?: number
  /** Past sealed entries whose data keys the examiner should receive, with their positions. */
  history?: ReadonlyArray<{ seq: number, entry: Entry }>
  chainKey: Uint8Array
  /** The user's box key pair, to recover each past data key. */
  userBox: BoxKeyPair
}

/** A consent grant; with `history`, it carries those entries' data keys re-wrapped for the examiner. */
export function buildGrant (input: GrantInput, crypto: CryptoProvider): UnsignedEntry {
  const plain: Extract<ConsentPlain, { action: 'grant' }> = { action: 'grant', examiner: input.examiner }
  if (input.until !== undefined) plain.until = input.until
  const sealedHistory = (input.history ?? []).filter((h) => h.entry.sealed !== undefined)
  if (sealedHistory.length > 0) {
    const eph = ephemeralKeyPair(crypto)
    const keys = sealedHistory.map(({ seq, entry }) => {
      const ctx = { chainKey: input.chainKey, entryId: entry.id }
      const dataKey = recoverDataKey(entry.sealed!, input.userBox, ctx, crypto)
      return { seq, wrap: wrapDataKey(dataKey, input.examinerBox, eph, ctx, crypto) }
    })
    plain.rewrap = { to: input.examinerBox, epk: eph.publicKey, keys }
  }
  return buildUserEntry('consent', plain, input, crypto)
}

export function buildRevoke (examiner: InstitutionId, opts: Common, crypto: CryptoProvider): UnsignedEntry {
  return buildUserEntry('consent', { action: 'revoke', examiner }, opts, crypto)
}

export function buildErasure (entries: readonly number[], opts: Common, crypto: CryptoProvider): UnsignedEntry {
  const sorted = [...new Set(entries)].sort((a, b) => a - b)
  if (sorted.length === 0) throw new CoreError('INVALID_FIELD', 'entries: name at least one entry to erase', { field: 'plain.entries' })
  return buildUserEntry('erasure', { entries: sorted }, opts, crypto)
}

/**
 * A migrate entry for position `plain.length` of the continuation core; the
 * user signs it for the new chain key (signEntry). Only the schema is checked
 * here: checkMigrate checks the old head.
 */
export function buildMigrate (plain: MigratePlain, opts: Common, crypto: CryptoProvider): UnsignedEntry {
  return buildUserEntry('migrate', plain, opts, crypto)
}

/**
 * A rekey revealing `keys` (the generation the chain committed to last, from
 * userKeysFromPhrase(phrase, crypto, generation)) and committing to `following`
 * (generation + 1's). Sign it with `keys.sign.secretKey`.
 */
export function buildRekey (generation: number, keys: UserKeys, following: UserKeys, opts: Common, crypto: CryptoProvider): UnsignedEntry {
  const plain = { generation, sign: keys.sign.publicKey, box: keys.box.publicKey, next: nextKeyDigest(following) }
  return buildUserEntry('rekey', plain, opts, crypto)
}
