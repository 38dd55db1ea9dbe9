/**
 * The user-chain entry model, wire version 1.
 *
 * Every block of a user chain is one entry, encoded as canonical CBOR:
 *
 *   { v: 1, type, id, time, author, reg?, plain, sealed?, sig }
 *
 * - `id`: 16 random bytes, unique per entry; a retried write carries the same
 *   id, so it is recognised and never appended twice.
 * - `author`: `"user"` for the chain's own user, or an institution id.
 * - `reg`: for institution authors only, the registry length the author
 *   signed against; the author's role and keys are taken from the registry at
 *   that length.
 * - `plain`: the type's plain segment (see the schemas below).
 * - `sealed`: exam entries only; see seal.ts.
 * - `sig`: the author's Ed25519 signature, see sign.ts.
 *
 * Block 0 of every chain is a `genesis` entry signed by the user. The
 * `migrate` and `rekey` plain segments are custody.ts's. Exams are written by
 * institutions, migrates by the user or, once the registry reassigns a
 * suspended custodian's chains (reassign.ts), by the examiner it names; every
 * other type by the user.
 */
import { z } from 'zod'
import { CoreError } from './errors.js'
import { describeIssue, summariseIssues } from './zod-issues.js'
import { decodeCanonical, encodeCanonical } from './encoding.js'
import { USER_AUTHOR } from './ids.js'
import { migratePlainSchema, rekeyPlainSchema, type MigratePlain, type RekeyPlain } from './custody.js'
import {
  ENTRY_LIMITS, MAX_ENTRY_BYTES, bytesBetween, bytesOf, entryIdSchema, institutionIdSchema, key32Schema, observationSchema,
  signatureSchema, textSchema, timeSchema, uintSchema
} from './schema.js'

export { MAX_ENTRY_BYTES } from './schema.js'
export const ENTRY_VERSION = 1

export const ENTRY_TYPES = ['genesis', 'exam', 'exercise', 'location', 'consent', 'erasure', 'migrate', 'rekey'] as const
export type EntryType = typeof ENTRY_TYPES[number]
/** Types whose data an erasure may clear. */
export const ERASABLE_TYPES: readonly EntryType[] = ['exam', 'exercise', 'location']

export const genesisPlainSchema = z.strictObject({
  user: z.strictObject({ sign: key32Schema, box: key32Schema }),
  custodian: institutionIdSchema,
  /** nextKeyDigest of generation 1's keys (pre-rotation); absent in chains enrolled before it, which cannot rekey. */
  next: key32Schema.optional()
})

export const examPlainSchema = z.strictObject({
  title: textSchema(ENTRY_LIMITS.title).optional(),
  observations: z.array(observationSchema).max(ENTRY_LIMITS.examObservations)
})

/** The cleartext of an exam's sealed segment, validated before sealing and after opening. */
export const examSealedSchema = z.strictObject({
  observations: z.array(observationSchema).max(256).optional(),
  notes: textSchema(16 * 1024).optional()
})

export const exercisePlainSchema = z.strictObject({
  start: timeSchema,
  end: timeSchema,
  observations: z.array(observationSchema).min(1).max(ENTRY_LIMITS.exerciseObservations)
}).refine((p) => p.end >= p.start, { message: 'end must not be before start', path: ['end'] })

export const locationPointSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  /** Horizontal accuracy in metres. */
  acc: z.number().min(0).max(ENTRY_LIMITS.accuracy),
  time: timeSchema
})

export const locationPlainSchema = z.strictObject({
  points: z.array(locationPointSchema).min(1).max(ENTRY_LIMITS.locationPoints)
})

/** A data key of a past entry, re-wrapped for a newly granted examiner. */
export const rewrappedKeySchema = z.strictObject({ seq: uintSchema.min(1), wrap: bytesOf(48) })

export const consentPlainSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('grant'),
    examiner: institutionIdSchema,
    /** Access ends at this time (exclusive); absent means until revoked. */
    until: timeSchema.optional(),
    /** Past entries' data keys for the grantee, all wrapped from one ephemeral key. */
    rewrap: z.strictObject({
      to: key32Schema,
      epk: key32Schema,
      keys: z.array(rewrappedKeySchema).min(1).max(1000)
    }).optional()
  }),
  z.strictObject({ action: z.literal('revoke'), examiner: institutionIdSchema })
])

export const erasurePlainSchema = z.strictObject({
  entries: z.array(uintSchema.min(1)).min(1).max(1000)
    .refine((seqs) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), { message: 'entries must be strictly increasing' })
})

export const sealedSchema = z.strictObject({
  /** Ephemeral X25519 public key the data key is wrapped from. */
  epk: key32Schema,
  nonce: bytesOf(24),
  ct: bytesBetween(16, MAX_ENTRY_BYTES),
  to: z.array(z.strictObject({ key: key32Schema, wrap: bytesOf(48) })).min(1).max(ENTRY_LIMITS.recipients)
})

const PLAIN_SCHEMAS = {
  genesis: genesisPlainSchema,
  exam: examPlainSchema,
  exercise: exercisePlainSchema,
  location: locationPlainSchema,
  consent: consentPlainSchema,
  erasure: erasurePlainSchema,
  migrate: migratePlainSchema,
  rekey: rekeyPlainSchema
} as const

export type GenesisPlain = z.infer<typeof genesisPlainSchema>
export type ExamPlain = z.infer<typeof examPlainSchema>
export type ExamSealed = z.infer<typeof examSealedSchema>
export type ExercisePlain = z.infer<typeof exercisePlainSchema>
export type LocationPlain = z.infer<typeof locationPlainSchema>
export type ConsentPlain = z.infer<typeof consentPlainSchema>
export type ErasurePlain = z.infer<typeof erasurePlainSchema>
export type Sealed = z.infer<typeof sealedSchema>

export interface PlainByType {
  genesis: GenesisPlain
  exam: ExamPlain
  exercise: ExercisePlain
  location: LocationPlain
  consent: ConsentPlain
  erasure: ErasurePlain
  migrate: MigratePlain
  rekey: RekeyPlain
}

interface EnvelopeOf<T extends EntryType> {
  v: typeof ENTRY_VERSION
  type: T
  id: Uint8Array
  time: number
  author: string
  reg?: number
  plain: PlainByType[T]
  sealed?: Sealed
  sig: Uint8Array
}

/** A signed entry, discriminated by `type`. */
export type Entry = { [T in EntryType]: EnvelopeOf<T> }[EntryType]
export type EntryOf<T extends EntryType> = EnvelopeOf<T>
/** An entry before signing. */
export type UnsignedEntry = { [T in EntryType]: Omit<EnvelopeOf<T>, 'sig'> }[EntryType]

const envelopeSchema = z.strictObject({
  v: z.number(),
  type: z.string(),
  id: entryIdSchema,
  time: timeSchema,
  author: z.string().min(1).max(ENTRY_LIMITS.author),
  reg: uintSchema.optional(),
  plain: z.unknown(),
  sealed: sealedSchema.optional(),
  sig: signatureSchema
})

// Built once: zod compiles a schema on first use, so deriving one per call costs ~100 µs.
const unsignedEnvelopeSchema = envelopeSchema.omit({ sig: true })

function fail (error: z.ZodError, prefix: string): never {
  const summary = summariseIssues(error, prefix === '' ? [] : [prefix])
  throw new CoreError('INVALID_FIELD', describeIssue(summary), { field: summary.field })
}

function isEntryType (value: string): value is EntryType {
  return (ENTRY_TYPES as readonly string[]).includes(value)
}

/** Who may write an entry of each type: the chain's user, an institution, or either. */
export const ENTRY_AUTHORS: Readonly<Record<EntryType, 'user' | 'institution' | 'either'>> = {
  genesis: 'user',
  exam: 'institution',
  exercise: 'user',
  location: 'user',
  consent: 'user',
  erasure: 'user',
  // The user moves their chain; the examiner a reassignment names may continue it when the user does not.
  migrate: 'either',
  rekey: 'user'
}

/** Whether the chain's user may sign an entry of this type (every type but exam; a migrate may also be an institution's). */
export function isUserAuthored (type: EntryType): boolean {
  return ENTRY_AUTHORS[type] !== 'institution'
}

function checkEnvelope (value: unknown, requireSig: boolean): Entry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CoreError('MALFORMED', 'an entry is a map')
  }
  const candidate = value as Record<string, unknown>
  if (candidate.v !== ENTRY_VERSION) {
    throw new CoreError('UNSUPPORTED_VERSION', `entry version ${String(candidate.v)} is not supported (expected ${ENTRY_VERSION})`, { field: 'v' })
  }
  if (typeof candidate.type !== 'string' || !isEntryType(candidate.type)) {
    throw new CoreError('UNKNOWN_TYPE', `unknown entry type ${JSON.stringify(String(candidate.type)).slice(0, 40)}`, { field: 'type' })
  }
  const schema = requireSig ? envelopeSchema : unsignedEnvelopeSchema
  const envelope = schema.safeParse(value)
  if (!envelope.success) fail(envelope.error, '')
  const type = candidate.type
  const plain = PLAIN_SCHEMAS[type].safeParse(candidate.plain)
  if (!plain.success) fail(plain.error, 'plain')

  const authors = ENTRY_AUTHORS[type]
  const byUser = candidate.author === USER_AUTHOR
  if (authors === 'user' && !byUser) {
    throw new CoreError('INVALID_FIELD', `author: ${type} entries are written by the user`, { field: 'author' })
  }
  if (!byUser && !institutionIdSchema.safeParse(candidate.author).success) {
    const who = authors === 'either' ? 'the user or an institution' : 'an institution'
    throw new CoreError('INVALID_FIELD', `author: ${type} entries are written by ${who}`, { field: 'author' })
  }
  if (authors === 'institution' && byUser) {
    throw new CoreError('INVALID_FIELD', `author: ${type} entries are written by an institution`, { field: 'author' })
  }
  if (byUser !== (candidate.reg === undefined)) {
    throw new CoreError('INVALID_FIELD', 'reg: required for institution authors, forbidden for the user', { field: 'reg' })
  }
  if ((type === 'exam') !== (candidate.sealed !== undefined)) {
    throw new CoreError('INVALID_FIELD', 'sealed: exam entries carry a sealed segment, no other type may', { field: 'sealed' })
  }
  return value as Entry
}

/** Freezes a value that passed checkEnvelope and remembers it, so it is never validated twice. */
function remember<T extends object> (value: T): T {
  validated.add(deepFreeze(value))
  return value
}

/** Objects that passed validation here; entries are frozen, so they need no second pass. */
const validated = new WeakSet<object>()

/**
 * Freezes an entry's objects and arrays, so the validation and body bytes
 * remembered for it can never go stale. (Byte arrays cannot be frozen;
 * nothing here writes into them.)
 */
function deepFreeze<T> (value: T): T {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array || Object.isFrozen(value)) return value
  for (const child of Object.values(value)) deepFreeze(child)
  return Object.freeze(value)
}

/** Validates a decoded or constructed signed entry; throws CoreError with a code and the field. */
export function parseEntry (value: unknown): Entry {
  if (typeof value === 'object' && value !== null && validated.has(value) && 'sig' in value) return value as Entry
  return remember(checkEnvelope(value, true))
}

/** Validates an entry before it is signed. */
export function parseUnsignedEntry (value: unknown): UnsignedEntry {
  if (typeof value === 'object' && value !== null && validated.has(value) && !('sig' in value)) return value as UnsignedEntry
  return remember(checkEnvelope(value, false) as UnsignedEntry)
}

function checkSize (bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new CoreError('TOO_LARGE', `entry is ${bytes.length} bytes, the limit is ${MAX_ENTRY_BYTES}`)
  }
  return bytes
}

/**
 * The body bytes of entries that were decoded or signed here, so signing
 * messages and blocks reuse them instead of encoding again (encoding is the
 * largest cost after the signature itself). Entries are never mutated.
 */
const bodies = new WeakMap<object, Uint8Array>()

/**
 * The body: canonical CBOR of the entry without `v` and `sig`. This exact
 * byte string is what the author signs (see sign.ts) and what the block
 * carries, so verifying a block never needs to encode anything.
 */
export function encodeEntryBody (entry: UnsignedEntry | Entry): Uint8Array {
  const cached = bodies.get(entry)
  if (cached !== undefined) return cached
  // Accepts a signed entry too: its signature is not part of the body.
  const { sig: _sig, ...unsigned } = entry as UnsignedEntry & { sig?: unknown }
  // An entry validated here (and so frozen) needs no second pass over a copy of itself.
  const { v: _v, ...body } = validated.has(entry) ? unsigned : parseUnsignedEntry(unsigned)
  const bytes = checkSize(encodeCanonical(body))
  bodies.set(entry, bytes)
  return bytes
}

/** Attaches a signature to an unsigned entry, keeping its cached body. */
export function withSignature (entry: UnsignedEntry, sig: Uint8Array): Entry {
  const body = encodeEntryBody(entry)
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new CoreError('INVALID_FIELD', 'sig: expected 64 bytes', { field: 'sig' })
  // The unsigned part was validated by encodeEntryBody; the result is valid by construction.
  const signed = deepFreeze({ ...entry, sig } as Entry)
  validated.add(signed)
  bodies.set(signed, body)
  return signed
}

/**
 * A block: canonical CBOR array `[v, body, sig]` — the version, the body's
 * bytes as a byte string, and the author's 64-byte signature over them.
 */
export function encodeEntry (entry: Entry): Uint8Array {
  const body = bodies.get(entry) ?? encodeEntryBody(unsignedPart(parseEntry(entry)))
  if (!(entry.sig instanceof Uint8Array) || entry.sig.length !== 64) {
    throw new CoreError('INVALID_FIELD', 'sig: expected 64 bytes', { field: 'sig' })
  }
  return checkSize(encodeCanonical([ENTRY_VERSION, body, entry.sig]))
}

/** Decodes and validates one block; refuses oversized, non-canonical, unknown-type or invalid entries. */
export function decodeEntry (bytes: Uint8Array): Entry {
  const { entry, body } = decodeBlock(bytes)
  remember(entry)
  bodies.set(entry, body)
  return entry
}

/** A block taken apart: the validated entry, and the body bytes its signature covers. */
export interface DecodedBlock {
  readonly entry: Entry
  readonly body: Uint8Array
}

/**
 * Decodes and validates one block with exactly decodeEntry's checks, for a
 * reader that looks at each block once (verification): the entry is neither
 * frozen nor remembered for later encoding and signing, since freezing and
 * the weak caches cost a good share of decoding when a whole chain streams
 * past. Verify its signature with the returned body (verifyBodySignature).
 */
export function decodeBlock (bytes: Uint8Array): DecodedBlock {
  checkSize(bytes)
  const block = decodeCanonical(bytes)
  if (!Array.isArray(block) || block.length !== 3) throw new CoreError('MALFORMED', 'a block is an array [v, body, sig]')
  const [v, body, sig] = block as [unknown, unknown, unknown]
  if (v !== ENTRY_VERSION) {
    if (typeof v === 'number') throw new CoreError('UNSUPPORTED_VERSION', `entry version ${v} is not supported (expected ${ENTRY_VERSION})`, { field: 'v' })
    throw new CoreError('MALFORMED', 'block version is not a number', { field: 'v' })
  }
  if (!(body instanceof Uint8Array)) throw new CoreError('MALFORMED', 'block body is not a byte string', { field: 'body' })
  const fields = decodeCanonical(body)
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new CoreError('MALFORMED', 'an entry body is a map')
  for (const reserved of ['v', 'sig']) {
    if (reserved in fields) throw new CoreError('INVALID_FIELD', `${reserved}: not allowed inside the body`, { field: reserved })
  }
  // The decoded map is ours alone: complete it in place (the same keys, in the same order, as a copy would have).
  const candidate = fields as Record<string, unknown>
  candidate.v = v
  candidate.sig = sig
  return { entry: checkEnvelope(candidate, true), body }
}

/** @deprecated name kept for callers: the body bytes of an unsigned entry. */
export const encodeUnsignedEntry = encodeEntryBody

/** The entry without its signature. */
export function unsignedPart (entry: Entry): UnsignedEntry {
  const { sig: _sig, ...rest } = entry
  return rest as UnsignedEntry
}

export function validateExamSealed (value: unknown): ExamSealed {
  const parsed = examSealedSchema.safeParse(value)
  if (!parsed.success) fail(parsed.error, 'sealed')
  return parsed.data
}
