/**
 * The on-device check of a chain's entries, apart from the reads (chain.ts)
 * so it runs anywhere, tests under Node included:
 *
 *   each entry     the stored block (`encoded`) decoded with core; it must say
 *                  what the view says (id, type, author, time, plain, sealed);
 *                  its author signature must verify for (chain key, position)
 *                  against the author's key: the user's own (from the
 *                  genesis, which must be this device's key) or the
 *                  institution's signing key the registry listed at the
 *                  entry's registry length (its key history: keys rotate)
 *   sealed part    opened here with the user's box key (openEnvelope), never
 *                  by the node
 */
import {
  bytesToHex, decodeEntry, encodeCanonical, equal, fromHex, verifyEntrySignature,
  type Entry, type ExamSealed, type UserKeys
} from '@healthchain/core'
import { openEnvelope } from '@healthchain/client/user-side'
import type { EntryViewReply, RegistryReply } from '@healthchain/node/api'
import { crypto } from '../crypto.js'

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

function checkSignature (
  entry: Entry, seq: number, chainKey: Uint8Array, userKey: Uint8Array | undefined, institutions: ReadonlyMap<string, Institution>
): SignatureCheck {
  const slot = { chainKey, seq }
  if (entry.author === 'user') {
    if (userKey === undefined) return { ok: false, reason: 'the genesis, which names your key, could not be read' }
    return verifyEntrySignature(entry, slot, userKey, crypto) ? { ok: true, signer: 'you' } : { ok: false, reason: 'your signature does not verify' }
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

function openSealedPart (view: EntryViewReply, chainKey: string, user: UserKeys): SealedState {
  if (view.type !== 'exam') return { state: 'none' }
  try {
    const data = openEnvelope(view, chainKey, user, crypto)
    return data === undefined ? { state: 'failed', reason: 'the node sent no sealed part' } : { state: 'opened', data }
  } catch {
    return { state: 'failed', reason: 'it is not sealed for your key, or it was damaged' }
  }
}

/** Every entry of a chain view, checked here (see the file comment). */
export function checkEntries (
  views: readonly EntryViewReply[], chainKeyHex: string, user: UserKeys, registry: RegistryReply
): { entries: CheckedEntry[], custodian: string, erased: Set<number> } {
  const chainKey = fromHex(chainKeyHex, 32, 'chainKey')
  const institutions = new Map(registry.institutions.map((i) => [i.id, i]))
  let userKey: Uint8Array | undefined
  let custodian = ''
  const entries: CheckedEntry[] = []
  const erased = new Set<number>()
  for (const view of views) {
    let entry: Entry | undefined
    let check: SignatureCheck
    try {
      entry = decodeEntry(fromHex(view.encoded ?? '', (view.encoded ?? '').length / 2, 'encoded'))
    } catch {
      entry = undefined
    }
    if (entry === undefined) {
      check = { ok: false, reason: 'the node sent no stored bytes, or bytes that do not decode' }
    } else {
      if (entry.type === 'genesis' && view.seq === 0) {
        // The genesis names the user's key; it must be the key this device derived from the phrase.
        userKey = equal(entry.plain.user.sign, user.sign.publicKey) ? entry.plain.user.sign : undefined
        custodian = entry.plain.custodian
      }
      const differs = disagreement(view, entry)
      check = differs !== undefined
        ? { ok: false, reason: `what the node shows differs from the stored entry in ${differs}` }
        : checkSignature(entry, view.seq, chainKey, userKey, institutions)
      if (check.ok && entry.type === 'erasure') for (const seq of entry.plain.entries) erased.add(seq)
    }
    entries.push({ seq: view.seq, view, entry, time: Date.parse(view.time), check, sealed: openSealedPart(view, chainKeyHex, user) })
  }
  return { entries, custodian, erased }
}
