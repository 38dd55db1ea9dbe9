/**
 * What a reader receives of an entry, per role:
 *
 *   everyone allowed to read the chain   seq, id, type, author, time, reg, plain
 *   examiner                              sealed: { readable: true, data } when this
 *                                         institution is a recipient (directly, or through
 *                                         a grant's re-wrapped key) under any of its box
 *                                         key generations, else { readable: false }
 *   user (own chain)                      sealed: { readable: false, envelope } — the
 *                                         ciphertext, which only the user's device can open
 *   inquirer, regulator                   no `sealed` field at all, not even ciphertext
 *
 * Bytes become lowercase hex, so every field is plain JSON.
 */
import {
  bytesToHex, encodeCanonical, equal, isRecipient, openSealed, openWithDataKey, unwrapDataKey,
  type BoxKeyPair, type CryptoProvider, type Entry, type ExamSealed, type Role
} from '@healthchain/core'
import type { PositionedEntry } from '@healthchain/ledger'

export type SealedView =
  | { readonly readable: true, readonly data: unknown }
  | { readonly readable: false, readonly envelope?: string }

export interface EntryView {
  readonly seq: number
  readonly id: string
  readonly type: Entry['type']
  readonly author: string
  readonly time: string
  readonly reg?: number
  readonly plain: unknown
  readonly sealed?: SealedView
  /** The key of the core the entry was written in, when it is not the chain's latest (a chain that moved): its seal is bound to it. */
  readonly segmentKey?: string
}

/** Data keys granted to an institution for past entries, by position (from the chain's consent grants). */
export interface GrantedKeys {
  readonly get: (seq: number) => { wrap: Uint8Array, epk: Uint8Array } | undefined
}

export interface ViewContext {
  readonly role: Role
  readonly chainKey: Uint8Array
  /** The key of the core position `seq` was written in (UserChain.keyAt): sealing binds it. Default: `chainKey` for every position. */
  readonly keyAt?: (seq: number) => Uint8Array
  readonly crypto: CryptoProvider
  /** The reading institution's sealing key pairs (examiners), newest first: every generation it has rotated through. */
  readonly boxes?: readonly BoxKeyPair[]
  readonly granted?: GrantedKeys
}

/** Every re-wrapped data key the chain's grants gave `examiner`, by the position of the entry it opens. */
export function grantedKeysFor (entries: readonly PositionedEntry[], examiner: string): GrantedKeys {
  const keys = new Map<number, { wrap: Uint8Array, epk: Uint8Array }>()
  for (const { entry } of entries) {
    if (entry.type !== 'consent' || entry.plain.action !== 'grant' || entry.plain.examiner !== examiner) continue
    const rewrap = entry.plain.rewrap
    if (rewrap === undefined) continue
    for (const key of rewrap.keys) keys.set(key.seq, { wrap: key.wrap, epk: rewrap.epk })
  }
  return { get: (seq) => keys.get(seq) }
}

export function viewOf ({ seq, entry }: PositionedEntry, ctx: ViewContext): EntryView {
  const segment = ctx.keyAt?.(seq)
  const view: EntryView = {
    seq,
    id: bytesToHex(entry.id),
    type: entry.type,
    author: entry.author,
    time: new Date(entry.time).toISOString(),
    ...('reg' in entry && typeof entry.reg === 'number' ? { reg: entry.reg } : {}),
    plain: toJson(entry.plain),
    ...(segment === undefined || equal(segment, ctx.chainKey) ? {} : { segmentKey: bytesToHex(segment) })
  }
  if (!('sealed' in entry) || entry.sealed === undefined) return view
  const sealed = sealedView(seq, entry, ctx)
  return sealed === undefined ? view : { ...view, sealed }
}

function sealedView (seq: number, entry: Entry, ctx: ViewContext): SealedView | undefined {
  if (entry.type !== 'exam') return undefined
  if (ctx.role === 'user') return { readable: false, envelope: bytesToHex(encodeCanonical(entry.sealed)) }
  if (ctx.role !== 'examiner' || ctx.boxes === undefined) return undefined
  let data: ExamSealed | undefined
  for (const box of ctx.boxes) {
    data = openAsInstitution(seq, entry, ctx, box)
    if (data !== undefined) break
  }
  return data === undefined ? { readable: false } : { readable: true, data: toJson(data) }
}

function openAsInstitution (seq: number, entry: Extract<Entry, { type: 'exam' }>, ctx: ViewContext, box: BoxKeyPair): ExamSealed | undefined {
  const sealed = entry.sealed
  if (sealed === undefined) return undefined
  const sealCtx = { chainKey: ctx.keyAt?.(seq) ?? ctx.chainKey, entryId: entry.id }
  try {
    if (isRecipient(sealed, box.publicKey)) return openSealed(sealed, box, sealCtx, ctx.crypto)
    const granted = ctx.granted?.get(seq)
    if (granted === undefined) return undefined
    const dataKey = unwrapDataKey(granted.wrap, granted.epk, box, sealCtx, ctx.crypto)
    return dataKey === null ? undefined : openWithDataKey(sealed, dataKey, sealCtx, ctx.crypto)
  } catch {
    // A segment that does not open for us reads as unreadable; verify() is where damage is reported.
    return undefined
  }
}

/** A JSON-safe copy: bytes as lowercase hex. */
export function toJson (value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value)
  if (Array.isArray(value)) return value.map(toJson)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]))
  }
  return value
}
