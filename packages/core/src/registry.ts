/**
 * The registry: one Hypercore whose entries the consortium's governance key
 * signs (the node hosting it appends them with a core key pair of its own:
 * see registry-core.ts), recording which institutions exist, their role,
 * keys and libp2p identity. Every node replicates it and derives membership
 * from it.
 *
 * Each block is canonical CBOR `{ v: 1, type, id, time, plain, sig }`, signed
 * by the governance key over
 *
 *   "healthchain/v1/registry" 0x00 || registry key (32) || position (u64 BE) || CBOR without `sig`
 *
 * Block 0 is `consortium` (names the governance key, and may set the notice
 * period of reassignments); later blocks are `admit`, `suspend`, `reinstate`,
 * `rotate` and `reassign` (reassign.ts). `RegistryState` folds them and
 * answers "who was what at registry length n".
 */
import { z } from 'zod'
import { domainTag, equal } from './bytes.js'
import { CoreError } from './errors.js'
import { describeIssue, summariseIssues } from './zod-issues.js'
import { decodeCanonical, encodeCanonical } from './encoding.js'
import type { InstitutionId } from './ids.js'
import { INSTITUTION_ROLES, type InstitutionRole } from './permissions.js'
import { entryIdSchema, institutionIdSchema, key32Schema, signatureSchema, textSchema, timeSchema } from './schema.js'
import { signingMessage, type Slot } from './sign.js'
import { noticeDaysSchema, noticePeriodMs, reassignPlainSchema, type Reassignment } from './reassign.js'
import type { CryptoProvider } from './crypto/provider.js'

export const REGISTRY_VERSION = 1
export const MAX_REGISTRY_ENTRY_BYTES = 16 * 1024
export const REGISTRY_SIGNATURE_DOMAIN = 'healthchain/v1/registry'
const REGISTRY_DOMAIN_BYTES = domainTag(REGISTRY_SIGNATURE_DOMAIN)

export const REGISTRY_ENTRY_TYPES = ['consortium', 'admit', 'suspend', 'reinstate', 'rotate', 'reassign'] as const
export type RegistryEntryType = typeof REGISTRY_ENTRY_TYPES[number]

const peerIdSchema = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,128}$/, { message: 'expected a libp2p peer id (base58btc)' })
const multiaddrSchema = z.string().min(2).max(256).regex(/^\/[\x21-\x7e]+$/, { message: 'expected a multiaddr such as /ip4/127.0.0.1/tcp/4001' })

const consortiumPlainSchema = z.strictObject({
  name: textSchema(200),
  governance: key32Schema,
  /** How long a suspended custodian's users have to move before a reassignment takes effect; absent: DEFAULT_NOTICE_DAYS. */
  noticeDays: noticeDaysSchema.optional()
})
const admitPlainSchema = z.strictObject({
  institution: institutionIdSchema,
  name: textSchema(200),
  role: z.enum(INSTITUTION_ROLES),
  sign: key32Schema,
  box: key32Schema,
  peer: peerIdSchema.optional(),
  addrs: z.array(multiaddrSchema).max(16).optional()
})
const suspendPlainSchema = z.strictObject({ institution: institutionIdSchema, reason: textSchema(500).optional() })
const reinstatePlainSchema = z.strictObject({ institution: institutionIdSchema })
const rotatePlainSchema = z.strictObject({
  institution: institutionIdSchema,
  sign: key32Schema,
  box: key32Schema,
  peer: peerIdSchema.optional(),
  addrs: z.array(multiaddrSchema).max(16).optional()
})

const REGISTRY_PLAIN_SCHEMAS = {
  consortium: consortiumPlainSchema,
  admit: admitPlainSchema,
  suspend: suspendPlainSchema,
  reinstate: reinstatePlainSchema,
  rotate: rotatePlainSchema,
  reassign: reassignPlainSchema
} as const

export interface RegistryPlainByType {
  consortium: z.infer<typeof consortiumPlainSchema>
  admit: z.infer<typeof admitPlainSchema>
  suspend: z.infer<typeof suspendPlainSchema>
  reinstate: z.infer<typeof reinstatePlainSchema>
  rotate: z.infer<typeof rotatePlainSchema>
  reassign: z.infer<typeof reassignPlainSchema>
}

interface RegistryEnvelopeOf<T extends RegistryEntryType> {
  v: typeof REGISTRY_VERSION
  type: T
  id: Uint8Array
  time: number
  plain: RegistryPlainByType[T]
  sig: Uint8Array
}
export type RegistryEntry = { [T in RegistryEntryType]: RegistryEnvelopeOf<T> }[RegistryEntryType]
export type UnsignedRegistryEntry = { [T in RegistryEntryType]: Omit<RegistryEnvelopeOf<T>, 'sig'> }[RegistryEntryType]

const registryEnvelopeSchema = z.strictObject({
  v: z.number(),
  type: z.string(),
  id: entryIdSchema,
  time: timeSchema,
  plain: z.unknown(),
  sig: signatureSchema
})

const unsignedRegistryEnvelopeSchema = registryEnvelopeSchema.omit({ sig: true })

function parseRegistry (value: unknown, requireSig: boolean): RegistryEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CoreError('MALFORMED', 'a registry entry is a map')
  const candidate = value as Record<string, unknown>
  if (candidate.v !== REGISTRY_VERSION) {
    throw new CoreError('UNSUPPORTED_VERSION', `registry entry version ${String(candidate.v)} is not supported`, { field: 'v' })
  }
  const type = candidate.type
  if (typeof type !== 'string' || !(REGISTRY_ENTRY_TYPES as readonly string[]).includes(type)) {
    throw new CoreError('UNKNOWN_TYPE', 'unknown registry entry type', { field: 'type' })
  }
  const schema = requireSig ? registryEnvelopeSchema : unsignedRegistryEnvelopeSchema
  const envelope = schema.safeParse(value)
  const plain = REGISTRY_PLAIN_SCHEMAS[type as RegistryEntryType].safeParse(candidate.plain)
  const error = !envelope.success ? envelope.error : !plain.success ? plain.error : undefined
  if (error !== undefined) {
    const summary = summariseIssues(error, envelope.success ? ['plain'] : [])
    throw new CoreError('INVALID_FIELD', describeIssue(summary), { field: summary.field })
  }
  return value as RegistryEntry
}

export function parseRegistryEntry (value: unknown): RegistryEntry {
  return parseRegistry(value, true)
}

function checkRegistrySize (bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_REGISTRY_ENTRY_BYTES) {
    throw new CoreError('TOO_LARGE', `registry entry is ${bytes.length} bytes, the limit is ${MAX_REGISTRY_ENTRY_BYTES}`)
  }
  return bytes
}

export function encodeRegistryEntry (entry: RegistryEntry): Uint8Array {
  return checkRegistrySize(encodeCanonical(parseRegistryEntry(entry)))
}

export function decodeRegistryEntry (bytes: Uint8Array): RegistryEntry {
  checkRegistrySize(bytes)
  return parseRegistryEntry(decodeCanonical(bytes))
}

export function registrySigningMessage (entry: UnsignedRegistryEntry, slot: Slot): Uint8Array {
  return signingMessage(REGISTRY_DOMAIN_BYTES, slot, checkRegistrySize(encodeCanonical(parseRegistry(entry, false))))
}

export function signRegistryEntry (entry: UnsignedRegistryEntry, slot: Slot, governanceSecretKey: Uint8Array, crypto: CryptoProvider): RegistryEntry {
  const sig = crypto.sign(registrySigningMessage(entry, slot), governanceSecretKey)
  return parseRegistryEntry({ ...entry, sig })
}

export function verifyRegistrySignature (entry: RegistryEntry, slot: Slot, governanceKey: Uint8Array, crypto: CryptoProvider): boolean {
  const { sig, ...unsigned } = entry
  return crypto.verify(registrySigningMessage(unsigned as UnsignedRegistryEntry, slot), sig, governanceKey)
}

/** An institution as the registry describes it at some length. */
export interface InstitutionRecord {
  readonly id: InstitutionId
  readonly name: string
  readonly role: InstitutionRole
  readonly sign: Uint8Array
  readonly box: Uint8Array
  readonly peer: string | undefined
  readonly addrs: readonly string[]
  readonly status: 'active' | 'suspended'
  /** Registry position of the entry that produced this state. */
  readonly since: number
}

/**
 * Membership derived from registry entries, with its full history so that
 * `institutionAt(id, length)` answers for any past registry length.
 */
export class RegistryState {
  readonly registryKey: Uint8Array
  /** The governance key the registry core commits to, when the caller knows it (see registry-core.ts). */
  private boundGovernance: Uint8Array | undefined
  private consortium: RegistryPlainByType['consortium'] | undefined
  private readonly history = new Map<InstitutionId, InstitutionRecord[]>()
  /** Per suspended institution, its reassignments and their cancellations (`to` undefined), oldest first. */
  private readonly reassigned = new Map<InstitutionId, Array<{ to: InstitutionId | undefined, after: number, since: number }>>()
  private count = 0

  /**
   * `governanceKey`: the key the registry core is bound to. Given, block 0
   * must name exactly it; omitted, block 0 is trusted to name the governance
   * key (only for callers that authenticated the registry some other way,
   * such as known-answer vectors).
   */
  constructor (registryKey: Uint8Array, governanceKey?: Uint8Array) {
    this.registryKey = registryKey
    this.boundGovernance = governanceKey
  }

  /**
   * Binds an empty state to the governance key its core commits to, for a
   * replica that learns it only when the core's manifest arrives with block 0.
   * REGISTRY_CONFLICT once entries are applied or when bound to another key.
   */
  bindGovernance (governanceKey: Uint8Array): void {
    if (this.boundGovernance !== undefined && equal(this.boundGovernance, governanceKey)) return
    if (this.boundGovernance !== undefined || this.count > 0) {
      throw new CoreError('REGISTRY_CONFLICT', 'the registry state is bound to its governance key already')
    }
    this.boundGovernance = Uint8Array.from(governanceKey)
  }

  get boundGovernanceKey (): Uint8Array | undefined { return this.boundGovernance }

  /** Number of registry entries applied. */
  get length (): number { return this.count }
  get name (): string | undefined { return this.consortium?.name }
  get governanceKey (): Uint8Array | undefined { return this.consortium?.governance }
  /** The notice period a reassignment must leave, in ms (the consortium's noticeDays, or the default). */
  get noticePeriod (): number { return noticePeriodMs(this.consortium?.noticeDays) }

  /** Verifies the entry at the next position without applying it; throws BAD_SIGNATURE or REGISTRY_CONFLICT. */
  check (entry: RegistryEntry, crypto: CryptoProvider): void {
    this.validate(entry, crypto)
  }

  /**
   * Verifies and applies the entry at the next position. Throws BAD_SIGNATURE
   * or REGISTRY_CONFLICT without changing the state.
   */
  apply (entry: RegistryEntry, crypto: CryptoProvider): void {
    const next = this.validate(entry, crypto)
    if (entry.type === 'consortium') {
      this.consortium = entry.plain
    } else if (entry.type === 'reassign') {
      this.remember(entry.plain.institution as InstitutionId, { to: entry.plain.to as InstitutionId, after: entry.plain.after, since: this.count })
    } else {
      // A reinstated institution keeps its chains: it cancels any reassignment of them.
      if (entry.type === 'reinstate' && this.reassignmentOf(entry.plain.institution) !== undefined) {
        this.remember(entry.plain.institution as InstitutionId, { to: undefined, after: 0, since: this.count })
      }
      const record = next as InstitutionRecord
      const list = this.history.get(record.id) ?? []
      list.push(record)
      this.history.set(record.id, list)
    }
    this.count += 1
  }

  private validate (entry: RegistryEntry, crypto: CryptoProvider): InstitutionRecord | undefined {
    const seq = this.count
    const slot = { chainKey: this.registryKey, seq }
    if (seq === 0) {
      if (entry.type !== 'consortium') throw new CoreError('REGISTRY_CONFLICT', 'registry block 0 must be a consortium entry')
      if (this.boundGovernance !== undefined && !equal(entry.plain.governance, this.boundGovernance)) {
        // A consortium block signed by some other key names that key: it is not the governance the core commits to.
        throw new CoreError('BAD_SIGNATURE', 'registry block 0 names a governance key other than the one the registry core commits to')
      }
      if (!verifyRegistrySignature(entry, slot, entry.plain.governance, crypto)) {
        throw new CoreError('BAD_SIGNATURE', 'registry block 0 is not signed by the governance key it names')
      }
      return undefined
    }
    if (entry.type === 'consortium') throw new CoreError('REGISTRY_CONFLICT', 'only block 0 may be a consortium entry')
    if (!verifyRegistrySignature(entry, slot, this.consortium!.governance, crypto)) {
      throw new CoreError('BAD_SIGNATURE', `registry block ${seq} is not signed by the governance key`)
    }
    if (entry.type === 'reassign') {
      this.checkReassign(entry.plain, entry.time)
      return undefined
    }
    return this.transition(entry, seq)
  }

  /** A reassignment needs a suspended institution, another active examiner to take over, and the notice period before `after`. */
  private checkReassign (plain: RegistryPlainByType['reassign'], time: number): void {
    const id = plain.institution
    const current = this.current(id as InstitutionId)
    if (current === undefined) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is not admitted: the registry does not list it`)
    if (current.status !== 'suspended') {
      throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is active: only a suspended institution's chains are reassigned`)
    }
    if (plain.to === id) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} cannot be reassigned to itself`)
    const to = this.current(plain.to as InstitutionId)
    if (to === undefined || to.status !== 'active' || to.role !== 'examiner') {
      throw new CoreError('REGISTRY_CONFLICT', `${plain.to} is not an active examiner: it cannot take over ${id}'s chains`)
    }
    if (plain.after < time + this.noticePeriod) {
      const days = this.noticePeriod / 86_400_000
      throw new CoreError('REGISTRY_CONFLICT', `after is too soon: the consortium's notice period is ${days} days from the entry's time`)
    }
  }

  private remember (id: InstitutionId, record: { to: InstitutionId | undefined, after: number, since: number }): void {
    const list = this.reassigned.get(id) ?? []
    list.push(record)
    this.reassigned.set(id, list)
  }

  /** The reassignment of `institution` in force at registry length `length` (entries [0, length) applied), if any. */
  reassignmentOf (institution: string, length: number = this.count): Reassignment | undefined {
    let found: Reassignment | undefined
    for (const r of this.reassigned.get(institution as InstitutionId) ?? []) {
      if (r.since >= length) break
      found = r.to === undefined ? undefined : { institution: institution as InstitutionId, to: r.to, after: r.after, since: r.since }
    }
    return found
  }

  /** Every reassignment in force at `length`, in the order their institutions were first reassigned. */
  reassignments (length: number = this.count): Reassignment[] {
    const out: Reassignment[] = []
    for (const id of this.reassigned.keys()) {
      const r = this.reassignmentOf(id, length)
      if (r !== undefined) out.push(r)
    }
    return out
  }

  private transition (entry: Exclude<RegistryEntry, { type: 'consortium' | 'reassign' }>, seq: number): InstitutionRecord {
    const id = entry.plain.institution as InstitutionId
    const current = this.current(id)
    switch (entry.type) {
      case 'admit': {
        if (current !== undefined) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is already admitted`)
        const p = entry.plain
        this.assertKeysUnused(p.sign, p.box, id)
        return { id, name: p.name, role: p.role, sign: p.sign, box: p.box, peer: p.peer, addrs: p.addrs ?? [], status: 'active', since: seq }
      }
      case 'suspend':
        if (current === undefined) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is not admitted: the registry does not list it`)
        if (current.status !== 'active') throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is suspended already`)
        return { ...current, status: 'suspended', since: seq }
      case 'reinstate':
        if (current === undefined) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is not admitted: the registry does not list it`)
        if (current.status !== 'suspended') throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is active, not suspended`)
        return { ...current, status: 'active', since: seq }
      case 'rotate': {
        if (current === undefined) throw new CoreError('REGISTRY_CONFLICT', `institution ${id} is not admitted`)
        const p = entry.plain
        this.assertKeysUnused(p.sign, p.box, id)
        return { ...current, sign: p.sign, box: p.box, peer: p.peer ?? current.peer, addrs: p.addrs ?? current.addrs, since: seq }
      }
    }
  }

  /** A key once used by one institution may never be claimed by another (nor reused). */
  private assertKeysUnused (sign: Uint8Array, box: Uint8Array, id: InstitutionId): void {
    for (const records of this.history.values()) {
      for (const r of records) {
        if (equal(r.sign, sign) || equal(r.box, box)) {
          throw new CoreError('REGISTRY_CONFLICT', `a key given for ${id} is already registered`)
        }
      }
    }
  }

  private current (id: InstitutionId): InstitutionRecord | undefined {
    const list = this.history.get(id)
    return list?.[list.length - 1]
  }

  /** The institution as of registry length `length` (entries [0, length) applied). */
  institutionAt (id: string, length: number = this.count): InstitutionRecord | undefined {
    const list = this.history.get(id as InstitutionId)
    if (list === undefined) return undefined
    let found: InstitutionRecord | undefined
    for (const record of list) {
      if (record.since < length) found = record
      else break
    }
    return found
  }

  /** Institutions as of `length`, in admission order. */
  institutions (length: number = this.count): InstitutionRecord[] {
    const out: InstitutionRecord[] = []
    for (const id of this.history.keys()) {
      const record = this.institutionAt(id, length)
      if (record !== undefined) out.push(record)
    }
    return out
  }

  /** Every state the institution has been in, oldest first (empty if never admitted). */
  historyOf (id: string): readonly InstitutionRecord[] {
    return this.history.get(id as InstitutionId) ?? []
  }

  /** The institution whose box key this is, as of `length`. */
  institutionByBoxKey (box: Uint8Array, length: number = this.count): InstitutionRecord | undefined {
    return this.institutions(length).find((r) => equal(r.box, box))
  }
}
