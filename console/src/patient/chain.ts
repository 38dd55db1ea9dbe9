/**
 * The patient's chain, read from the node and checked on this device.
 *
 *   summary        GET /v1/users/{id}: the length this node verified
 *   entries        GET /v1/users/{id}/entries?encoded=true, a page at a time
 *   each entry     checked on this device (chain-check.ts): its stored bytes
 *                  against the view, its author signature against the key of
 *                  its time; sealed parts opened with the user's box key
 *
 * Nothing is trusted because the node said so: a view that disagrees with
 * its bytes, or bytes whose signature fails, is marked and never shown as
 * checked. Nothing decrypted is stored anywhere: it lives in this page's
 * memory only.
 */
import type { Prologue, UserKeys } from '@healthchain/core'
import {
  chainSummarySchema, entriesReplySchema, registrySchema, type EntryViewReply, type RegistryReply
} from '@healthchain/node/api'
import { request } from '../api.js'
import type { Session } from '../session.js'
import { checkEntries, type CheckedEntry, type SegmentView } from './chain-check.js'

export { checkEntries, type CheckedEntry, type SealedState, type SegmentView, type SignatureCheck } from './chain-check.js'

/** Entries asked for per request: a long chain is read in pages. */
export const PAGE_SIZE = 200

export interface PatientChain {
  readonly userId: string
  readonly chainKey: string
  /** Positions this node verified (its chain length as served). */
  readonly length: number
  /** The custodian now: named by the genesis, or by the latest checked move. */
  readonly custodian: string
  /** The cores the chain was written in, oldest first (one for a chain that never moved). */
  readonly segments: readonly SegmentView[]
  /** The chain core's manifest prologue when it moved (its signed head needs it). */
  readonly prologue: Prologue | undefined
  /** The user's key generation in force at the chain's end. */
  readonly generation: number
  /** In chain order. */
  readonly entries: readonly CheckedEntry[]
  /** Positions a (checked) erasure entry of the user cleared. */
  readonly erased: ReadonlySet<number>
  readonly registry: RegistryReply
}

export function userOf (session: Session): UserKeys {
  if (session.user === undefined) throw new Error('the patient screens need the keys of a phrase sign-in')
  return session.user
}

/** Every generation's keys the sign-in derived (index = generation); the one in force only when it derived no others. */
export function generationsOf (session: Session): readonly UserKeys[] {
  return session.generations ?? [userOf(session)]
}

/** The whole chain as this node serves it, read in pages and checked here. */
export async function loadChain (session: Session, onProgress?: (read: number, of: number) => void): Promise<PatientChain> {
  const user = userOf(session)
  const id = encodeURIComponent(user.userId)
  const [summary, registry] = await Promise.all([
    request('GET', `/v1/users/${id}`, chainSummarySchema, { token: session.token }),
    request('GET', '/v1/registry', registrySchema, { token: session.token })
  ])
  const views: EntryViewReply[] = []
  for (let start = 0; start < summary.verifiedLength; start += PAGE_SIZE) {
    const page = await request('GET', `/v1/users/${id}/entries`, entriesReplySchema, {
      token: session.token, query: { encoded: 'true', start, end: Math.min(start + PAGE_SIZE, summary.verifiedLength) }
    })
    views.push(...page.entries)
    onProgress?.(Math.min(start + PAGE_SIZE, summary.verifiedLength), summary.verifiedLength)
  }
  const { entries, custodian, erased, segments, prologue, generation } = checkEntries(views, summary.chainKey, generationsOf(session), registry)
  return {
    userId: user.userId, chainKey: summary.chainKey, length: summary.verifiedLength, custodian, entries, erased, registry, segments, prologue, generation
  }
}
