/**
 * The known-answer vector files (packages/core/test/vectors/*.json): their
 * shapes, and the one computation that turns each case's inputs into its
 * outputs. packages/core/test/make-vectors.ts runs it once to write the files;
 * vectors.test.ts runs it again under every provider and compares.
 */
import {
  buildErasure, buildExam, buildGenesis, buildGrant, buildRevoke, buildUserEntry, encodeCanonical, encodeEntry, encodeEntryBody,
  encodeRegistryEntry, entrySigningMessage, recoverDataKey, registrySigningMessage, RegistryState, signEntry,
  signRegistryEntry, userKeysFromPhrase, validateExamSealed,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type ExercisePlain, type InstitutionId,
  type LocationPlain, type PartyKeys, type RegistryEntry, type UnsignedEntry, type UnsignedRegistryEntry, type UserKeys
} from '@healthchain/core'
import { deterministicCrypto } from './deterministic-crypto.js'
import { fromTagged, hex, toTagged, unhex, type Tagged } from './tagged-json.js'

/** Where the vector files live. */
export const VECTORS_DIR = new URL('../vectors/', import.meta.url)

// ---------------------------------------------------------------- keys.json

export interface KeysFile {
  description: string
  cases: Array<{
    phrase: string
    signSecretKey: string
    signPublicKey: string
    boxSecretKey: string
    boxPublicKey: string
    userId: string
  }>
}

export function computeUserKeys (phrase: string, crypto: CryptoProvider): KeysFile['cases'][number] {
  const keys = userKeysFromPhrase(phrase, crypto)
  return {
    phrase,
    signSecretKey: hex(keys.sign.secretKey),
    signPublicKey: hex(keys.sign.publicKey),
    boxSecretKey: hex(keys.box.secretKey),
    boxPublicKey: hex(keys.box.publicKey),
    userId: keys.userId
  }
}

// ------------------------------------------------------------- parties.json

export interface KeyPairFile {
  /** Ed25519 seed; the secret key is seed || public key. */
  signSeed: string
  signPublicKey: string
  boxSecretKey: string
  boxPublicKey: string
}

export interface PartiesFile {
  description: string
  user: { phrase: string, signPublicKey: string, boxPublicKey: string, userId: string }
  /** Institution and governance key pairs, by label. */
  keys: Record<string, KeyPairFile>
}

export interface Parties {
  user: UserKeys
  keys: Map<string, PartyKeys>
}

export function keyPairFromSeeds (signSeed: Uint8Array, boxSecretKey: Uint8Array, crypto: CryptoProvider): PartyKeys {
  return {
    sign: crypto.signKeyPairFromSeed(signSeed),
    box: { secretKey: boxSecretKey, publicKey: crypto.x25519PublicKey(boxSecretKey) }
  }
}

export function keyPairToFile (signSeed: Uint8Array, keys: PartyKeys): KeyPairFile {
  return {
    signSeed: hex(signSeed),
    signPublicKey: hex(keys.sign.publicKey),
    boxSecretKey: hex(keys.box.secretKey),
    boxPublicKey: hex(keys.box.publicKey)
  }
}

/** The parties' key pairs, derived from the file's phrase and seeds (public keys are outputs, not inputs). */
export function deriveParties (file: PartiesFile, crypto: CryptoProvider): Parties {
  const keys = new Map<string, PartyKeys>()
  for (const [label, k] of Object.entries(file.keys)) {
    keys.set(label, keyPairFromSeeds(unhex(k.signSeed), unhex(k.boxSecretKey), crypto))
  }
  return { user: userKeysFromPhrase(file.user.phrase, crypto), keys }
}

function partyKey (parties: Parties, label: string): PartyKeys {
  const keys = parties.keys.get(label)
  if (keys === undefined) throw new Error(`vector names an unknown key ${label}`)
  return keys
}

// ------------------------------------------------------------- entries.json

interface Common { id: string, time: number }
export type EntryInput =
  | Common & { type: 'genesis', custodian: string }
  | Common & { type: 'exam', author: string, reg: number, plain: Tagged, sealed: Tagged, recipients: string[] }
  | Common & { type: 'exercise', plain: Tagged }
  | Common & { type: 'location', plain: Tagged }
  | Common & { type: 'consent-grant', examiner: string, until?: number, history: number[] }
  | Common & { type: 'consent-revoke', examiner: string }
  | Common & { type: 'erasure', entries: number[] }

export interface EntryCaseInput {
  name: string
  /** Position in the chain. */
  seq: number
  /** Seed of the deterministic randomBytes stream (ephemeral keys, data keys, nonces). */
  rng: string
  /** 'user', or the label of the institution key that signs. */
  signer: string
  input: EntryInput
}

export interface EntryCaseOutput {
  /** What `bytes` decodes to, byte strings as { "$bytes": hex }. */
  entry: Tagged
  /** The Hypercore block: canonical CBOR of [v, body, sig]. */
  bytes: string
  /** The body: canonical CBOR of the entry without `v` and `sig`. */
  body: string
  /** The exact message the author signs (it ends with the body). */
  signingMessage: string
  signature: string
  /** Exams only: the sealed segment's data key and canonical CBOR plaintext. */
  dataKey?: string
  sealedPlaintext?: string
}

export type EntryCase = EntryCaseInput & EntryCaseOutput

export interface EntriesFile {
  description: string
  chainKey: string
  cases: EntryCase[]
}

function boxKeyOf (parties: Parties, label: string): Uint8Array {
  return label === 'user' ? parties.user.box.publicKey : partyKey(parties, label).box.publicKey
}

function buildUnsigned (input: EntryInput, chainKey: Uint8Array, parties: Parties, earlier: ReadonlyMap<number, Entry>, crypto: CryptoProvider): UnsignedEntry {
  const opts = { id: unhex(input.id), time: input.time }
  switch (input.type) {
    case 'genesis':
      return buildGenesis(parties.user, input.custodian as InstitutionId, opts, crypto)
    case 'exam':
      return buildExam({
        ...opts,
        author: input.author as InstitutionId,
        reg: input.reg,
        plain: fromTagged(input.plain) as ExamPlain,
        sealed: fromTagged(input.sealed) as ExamSealed,
        recipients: input.recipients.map((r) => boxKeyOf(parties, r)),
        chainKey
      }, crypto)
    case 'exercise':
      return buildUserEntry('exercise', fromTagged(input.plain) as ExercisePlain, opts, crypto)
    case 'location':
      return buildUserEntry('location', fromTagged(input.plain) as LocationPlain, opts, crypto)
    case 'consent-grant':
      return buildGrant({
        ...opts,
        examiner: input.examiner as InstitutionId,
        examinerBox: partyKey(parties, input.examiner).box.publicKey,
        ...(input.until === undefined ? {} : { until: input.until }),
        history: input.history.map((seq) => {
          const entry = earlier.get(seq)
          if (entry === undefined) throw new Error(`history names position ${seq}, which is not an earlier case`)
          return { seq, entry }
        }),
        chainKey,
        userBox: parties.user.box
      }, crypto)
    case 'consent-revoke':
      return buildRevoke(input.examiner as InstitutionId, opts, crypto)
    case 'erasure':
      return buildErasure(input.entries, opts, crypto)
  }
}

/**
 * Builds, seals and signs one case with `base` (its randomBytes replaced by
 * the case's deterministic stream). `earlier` holds the signed entries of the
 * cases before it, by position, for consent history.
 */
export function computeEntryCase (
  c: EntryCaseInput, chainKey: Uint8Array, parties: Parties, earlier: ReadonlyMap<number, Entry>, base: CryptoProvider
): EntryCaseOutput & { signed: Entry } {
  const crypto = deterministicCrypto(base, c.rng)
  const unsigned = buildUnsigned(c.input, chainKey, parties, earlier, crypto)
  const slot = { chainKey, seq: c.seq }
  const secretKey = c.signer === 'user' ? parties.user.sign.secretKey : partyKey(parties, c.signer).sign.secretKey
  const signed = signEntry(unsigned, slot, secretKey, crypto)
  const out: EntryCaseOutput & { signed: Entry } = {
    signed,
    entry: toTagged(signed),
    bytes: hex(encodeEntry(signed)),
    body: hex(encodeEntryBody(unsigned)),
    signingMessage: hex(entrySigningMessage(unsigned, slot)),
    signature: hex(signed.sig)
  }
  if (signed.sealed !== undefined && c.input.type === 'exam') {
    out.dataKey = hex(recoverDataKey(signed.sealed, parties.user.box, { chainKey, entryId: signed.id }, crypto))
    out.sealedPlaintext = hex(encodeCanonical(validateExamSealed(fromTagged(c.input.sealed))))
  }
  return out
}

// ------------------------------------------------------------ registry.json

export interface RegistryStateRow {
  id: string
  role: string
  status: string
  signPublicKey: string
  boxPublicKey: string
  since: number
}

export interface RegistryCaseInput {
  name: string
  seq: number
  /** The unsigned registry entry, byte strings as { "$bytes": hex }. */
  input: Tagged
}

export interface RegistryCaseOutput {
  entry: Tagged
  bytes: string
  signingMessage: string
  signature: string
  /** Every institution as RegistryState describes it once this entry is applied. */
  state: RegistryStateRow[]
  /** Every reassignment in force once this entry is applied (RegistryState.reassignments). */
  reassignments: Array<{ institution: string, to: string, after: number, since: number }>
}

export type RegistryCase = RegistryCaseInput & RegistryCaseOutput

export interface RegistryFile {
  description: string
  /** Hypercore key of the registry core: the hash of its manifest, which names `host` as signer and carries `coreUserData`. */
  registryKey: string
  /** Label (in parties.json) of the governance key that signs every block. */
  governance: string
  /** Label (in parties.json) of the host's core key pair: it appends blocks and makes none valid. */
  host: string
  /** The manifest userData: "healthchain/v1/registry-core" 0x00 || governance public key. */
  coreUserData: string
  cases: RegistryCase[]
  /** Blocks refused at `seq` once cases [0, seq) are applied. */
  rejects: RegistryRejectCase[]
}

export interface RegistryRejectCase {
  name: string
  seq: number
  bytes: string
  code: 'BAD_SIGNATURE' | 'REGISTRY_CONFLICT'
}

export function stateRows (state: RegistryState): RegistryStateRow[] {
  return state.institutions().map((r) => ({
    id: r.id,
    role: r.role,
    status: r.status,
    signPublicKey: hex(r.sign),
    boxPublicKey: hex(r.box),
    since: r.since
  }))
}

/** Signs one registry case and applies it to `state` (which must be at length `c.seq`). */
export function computeRegistryCase (
  c: RegistryCaseInput, state: RegistryState, governanceSecretKey: Uint8Array, crypto: CryptoProvider
): RegistryCaseOutput & { signed: RegistryEntry } {
  const unsigned = fromTagged(c.input) as UnsignedRegistryEntry
  const slot = { chainKey: state.registryKey, seq: c.seq }
  const signed = signRegistryEntry(unsigned, slot, governanceSecretKey, crypto)
  state.apply(signed, crypto)
  return {
    signed,
    entry: toTagged(signed),
    bytes: hex(encodeRegistryEntry(signed)),
    signingMessage: hex(registrySigningMessage(unsigned, slot)),
    signature: hex(signed.sig),
    state: stateRows(state),
    reassignments: state.reassignments().map((r) => ({ institution: r.institution, to: r.to, after: r.after, since: r.since }))
  }
}

// ------------------------------------------------------------- rejects.json

export interface RejectCase {
  name: string
  /** Which decoder must refuse the bytes: decodeEntry or decodeRegistryEntry. */
  decoder: 'entry' | 'registry'
  hex: string
  /** When present, `hex` is followed by zero bytes up to this total length. */
  padTo?: number
  code: string
  /** The CoreError's `field`, when the refusal names one. */
  field?: string
}

export interface RejectsFile {
  description: string
  cases: RejectCase[]
}

export function rejectBytes (c: RejectCase): Uint8Array {
  const head = unhex(c.hex)
  if (c.padTo === undefined) return head
  const out = new Uint8Array(c.padTo)
  out.set(head)
  return out
}
