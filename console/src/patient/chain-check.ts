/**
 * The on-device check of a chain's entries, apart from the reads (chain.ts)
 * so it runs anywhere, tests under Node included:
 *
 *   each entry     the stored block (`encoded`) decoded with core; it must say
 *                  what the view says (id, type, author, time, plain, sealed);
 *                  its author signature must verify for (the key of the core
 *                  it was written in, position) — a chain that moved has
 *                  several cores, named by its latest migrate (chain-keys.ts)
 *                  — against the author's key: the user's key in force there
 *                  (the genesis's, which must be this device's generation 0,
 *                  then each checked rekey's) or the institution's signing
 *                  key the registry listed at the entry's registry length
 *                  (its key history: keys rotate)
 *   sealed part    opened here with the box key of the generation it was
 *                  sealed to (openEnvelope under its core's key), never by
 *                  the node
 */
import {
  bytesToHex, decodeEntry, encodeCanonical, fromHex, verifyEntrySignature,
  type Entry, type ExamSealed, type Prologue, type UserKeys
} from '@healthchain/core'
import { openEnvelope } from '@healthchain/client/user-side'
import type { EntryViewReply, RegistryReply } from '@healthchain/node/api'
import { crypto } from '../crypto.js'
import { layoutOf, prologueOf, segmentKeyAt, UserKeyInForce, type SegmentView } from '../chain-keys.js'

export type { SegmentView } from '../chain-keys.js'

export type SignatureCheck =
  | { readonly ok: true, readonly signer: string }
  | { readonly ok: false, readonly reason: string }

export type SealedState =
  | { readonly state: 'none' }
  | { readonly state: 'opened', readonly data: ExamSealed }
  | { readonly state: 'failed', readonly reason: string }

export interface CheckedEntry {
  readonly seq: number
  readonly view: EntryViewReply
  /** The entry decoded from its stored bytes; undefined when they did not decode. */
  readonly entry: Entry | undefined
  readonly time: number
  readonly check: SignatureCheck
  readonly sealed: SealedState
  /** The key of the core the entry was written in (hex): the chain key unless the chain moved since. */
  readonly segmentKey: string
  /** The user's key generation in force at this position. */
  readonly generation: number
}

type Institution = RegistryReply['institutions'][number]

/** A JSON-safe copy, as the node writes views: bytes as lowercase hex. */
function toJson (value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value)
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  return value
}

/** Why the view and its stored bytes disagree, or undefined when they say the same. */
function disagreement (view: EntryViewReply, entry: Entry): string | undefined {
  if (bytesToHex(entry.id) !== view.id) return 'its id'
  if (entry.type !== view.type) return 'its type'
  if (entry.author !== view.author) return 'its author'
  if (new Date(entry.time).toISOString() !== view.time) return 'its time'
  if ((entry.reg ?? null) !== (view.reg ?? null)) return 'its registry position'
  if (JSON.stringify(toJson(entry.plain)) !== JSON.stringify(view.plain)) return 'its content'
  const envelope = view.sealed !== undefined && !view.sealed.readable ? view.sealed.envelope : undefined
  const stored = entry.sealed === undefined ? undefined : bytesToHex(encodeCanonical(entry.sealed))
  if (envelope !== stored) return 'its sealed part'
  return undefined
}

/** The decoded stored block of a view, or undefined when the node sent none or bytes that do not decode. */
function decodedOf (view: EntryViewReply): Entry | undefined {
  try {
    return decodeEntry(fromHex(view.encoded ?? '', (view.encoded ?? '').length / 2, 'encoded'))
  } catch {
    return undefined
  }
}

function checkSignature (
  entry: Entry, seq: number, chainKey: Uint8Array, userKey: Uint8Array | undefined, institutions: ReadonlyMap<string, Institution>
): SignatureCheck {
  const slot = { chainKey, seq }
  if (entry.author === 'user') {
    if (userKey === undefined) return { ok: false, reason: 'the genesis, which names your key, could not be read' }
    if (verifyEntrySignature(entry, slot, userKey, crypto)) return { ok: true, signer: 'you' }
    return { ok: false, reason: 'your signature does not verify under your key in force at this position' }
  }
  const institution = institutions.get(entry.author)
  if (institution === undefined) return { ok: false, reason: `the registry lists no institution ${entry.author}` }
  // The key the author had when it signed: the last one listed before the entry's registry length (keys rotate).
  const reg = entry.reg ?? 0
  const key = institution.keys.filter((k) => k.since < reg).at(-1)
  if (key === undefined) return { ok: false, reason: `the registry lists no key of ${entry.author} at registry length ${reg}` }
  if (verifyEntrySignature(entry, slot, fromHex(key.sign, 32, 'sign'), crypto)) return { ok: true, signer: entry.author }
  const rotated = institution.keys.length > 1 ? ` (the key it had at registry length ${reg}; it has rotated since)` : ''
  return { ok: false, reason: `the signature does not verify against ${entry.author}'s registered key${key.sign === institution.sign ? '' : rotated}` }
}

function openSealedPart (view: EntryViewReply, segmentKey: string, generations: readonly UserKeys[]): SealedState {
  if (view.type !== 'exam') return { state: 'none' }
  // Sealed to the box key of the generation in force when it was written: the newest generation is tried first.
  for (const keys of [...generations].reverse()) {
    try {
      const data = openEnvelope(view, segmentKey, keys, crypto)
      return data === undefined ? { state: 'failed', reason: 'the node sent no sealed part' } : { state: 'opened', data }
    } catch {}
  }
  return { state: 'failed', reason: 'it is not sealed for your keys, or it was damaged' }
}

/**
 * Every entry of a chain view, checked here (see the file comment).
 * `user`: this device's keys, one generation or every generation up to the
 * one in force (index = generation).
 */
export function checkEntries (
  views: readonly EntryViewReply[], chainKeyHex: string, user: UserKeys | readonly UserKeys[], registry: RegistryReply
): {
  entries: CheckedEntry[], custodian: string, erased: Set<number>, segments: readonly SegmentView[], generation: number, prologue: Prologue | undefined
} {
  const generations = Array.isArray(user) ? user as readonly UserKeys[] : [user as UserKeys]
  const institutions = new Map(registry.institutions.map((i) => [i.id, i]))
  const decoded = new Map<number, Entry>()
  for (const view of views) {
    const entry = decodedOf(view)
    if (entry !== undefined) decoded.set(view.seq, entry)
  }
  const layout = layoutOf(decoded, chainKeyHex)
  const inForce = new UserKeyInForce(generations)
  let custodian = ''
  const entries: CheckedEntry[] = []
  const erased = new Set<number>()
  for (const view of views) {
    const entry = decoded.get(view.seq)
    const segmentKey = segmentKeyAt(layout, view.seq)
    let check: SignatureCheck
    if (entry === undefined) {
      check = { ok: false, reason: 'the node sent no stored bytes, or bytes that do not decode' }
    } else {
      if (entry.type === 'genesis' && view.seq === 0) {
        inForce.genesis(entry)
        custodian = entry.plain.custodian
      }
      const differs = disagreement(view, entry) ?? ((view.segmentKey ?? chainKeyHex) === segmentKey ? undefined : 'the core it was written in')
      const rekey = entry.type === 'rekey' ? inForce.rekeyProblem(entry) : undefined
      if (differs !== undefined) check = { ok: false, reason: `what the node shows differs from the stored entry in ${differs}` }
      else if (rekey !== undefined) check = { ok: false, reason: `this key renewal is refused: ${rekey}` }
      else if (entry.type === 'migrate' && layout.problem !== undefined && view.seq === layout.migrate?.seq) check = { ok: false, reason: layout.problem }
      else {
        // A rekey is signed by the key it reveals; every other user entry by the key in force.
        const userKey = entry.type === 'rekey' ? entry.plain.sign : inForce.key
        check = checkSignature(entry, view.seq, fromHex(segmentKey, 32, 'segmentKey'), userKey, institutions)
      }
      if (check.ok && entry.type === 'erasure') for (const seq of entry.plain.entries) erased.add(seq)
      if (check.ok && entry.type === 'rekey') inForce.rekeyed(entry)
      if (check.ok && entry.type === 'migrate') custodian = entry.plain.to
    }
    entries.push({
      seq: view.seq,
      view,
      entry,
      time: Date.parse(view.time),
      check,
      segmentKey,
      generation: inForce.generation,
      sealed: openSealedPart(view, segmentKey, generations)
    })
  }
  // A continuation core's manifest prologue, which its signed head needs.
  return { entries, custodian, erased, segments: layout.segments, generation: inForce.generation, prologue: prologueOf(layout) }
}
