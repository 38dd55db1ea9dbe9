/**
 * "What we may read sealed, and why": for each sealed exam of a chain, the
 * reason this institution can or cannot open it, derived from the chain
 * itself (the plain consent entries the patient signed, and who wrote
 * each exam), then set beside what the node actually opened.
 *
 * The rules are the ledger's: an exam is sealed for the patient, its writer
 * and every examiner whose grant is in force at the exam's time (a grant
 * holds until it is revoked or its `until` passes); a later grant can carry
 * re-wrapped data keys of earlier exams, which opens them too. A suspended
 * examiner gets nothing new even with a grant, which this page cannot see
 * from the chain alone: there the node's answer differs, and the page says
 * so rather than hiding it.
 */
import type { EntryViewReply } from '@healthchain/node/api'

export type AccessReason =
  | { readonly kind: 'wrote' }
  | { readonly kind: 'granted', readonly seq: number, readonly time: number, readonly until?: number }
  | { readonly kind: 'granted-history', readonly seq: number, readonly time: number }
  | { readonly kind: 'revoked', readonly seq: number, readonly time: number }
  | { readonly kind: 'expired', readonly seq: number, readonly until: number }
  | { readonly kind: 'not-granted' }

export interface SealedAccess {
  readonly seq: number
  readonly time: number
  readonly author: string
  /** What the chain says: whether this institution should be able to open it. */
  readonly expected: boolean
  readonly reason: AccessReason
  /** What the node did: whether it opened the sealed part for us. */
  readonly opened: boolean
}

interface ConsentPlainView {
  readonly action: 'grant' | 'revoke'
  readonly examiner: string
  readonly until?: number
  readonly rewrap?: { readonly keys: ReadonlyArray<{ readonly seq: number }> }
}

function consentOf (entry: EntryViewReply): ConsentPlainView | undefined {
  if (entry.type !== 'consent' || entry.plain === null || typeof entry.plain !== 'object') return undefined
  const plain = entry.plain as Partial<ConsentPlainView>
  if ((plain.action !== 'grant' && plain.action !== 'revoke') || typeof plain.examiner !== 'string') return undefined
  return plain as ConsentPlainView
}

/** The access to every sealed exam of `entries` (in chain order) for institution `me`. */
export function sealedAccess (entries: readonly EntryViewReply[], me: string): SealedAccess[] {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq)
  // Re-wrapped keys for us, from any grant, earlier or later than the exam they open.
  const rewrapped = new Map<number, { seq: number, time: number }>()
  for (const entry of sorted) {
    const consent = consentOf(entry)
    if (consent?.action !== 'grant' || consent.examiner !== me || consent.rewrap === undefined) continue
    for (const key of consent.rewrap.keys) rewrapped.set(key.seq, { seq: entry.seq, time: Date.parse(entry.time) })
  }

  let grant: { seq: number, time: number, until?: number } | undefined
  let revoked: { seq: number, time: number } | undefined
  const out: SealedAccess[] = []
  for (const entry of sorted) {
    const time = Date.parse(entry.time)
    const consent = consentOf(entry)
    if (consent !== undefined && consent.examiner === me) {
      if (consent.action === 'grant') {
        grant = { seq: entry.seq, time, ...(consent.until === undefined ? {} : { until: consent.until }) }
        revoked = undefined
      } else {
        grant = undefined
        revoked = { seq: entry.seq, time }
      }
      continue
    }
    if (entry.type !== 'exam' || entry.sealed === undefined) continue
    const reason = reasonFor(entry, time, me, grant, revoked, rewrapped.get(entry.seq))
    out.push({
      seq: entry.seq,
      time,
      author: entry.author,
      expected: reason.kind === 'wrote' || reason.kind === 'granted' || reason.kind === 'granted-history',
      reason,
      opened: entry.sealed.readable
    })
  }
  return out
}

function reasonFor (
  entry: EntryViewReply, time: number, me: string, grant: { seq: number, time: number, until?: number } | undefined,
  revoked: { seq: number, time: number } | undefined, rewrap: { seq: number, time: number } | undefined
): AccessReason {
  if (entry.author === me) return { kind: 'wrote' }
  if (grant !== undefined && (grant.until === undefined || time < grant.until)) return { kind: 'granted', ...grant }
  if (rewrap !== undefined) return { kind: 'granted-history', ...rewrap }
  if (grant?.until !== undefined) return { kind: 'expired', seq: grant.seq, until: grant.until }
  if (revoked !== undefined) return { kind: 'revoked', ...revoked }
  return { kind: 'not-granted' }
}
