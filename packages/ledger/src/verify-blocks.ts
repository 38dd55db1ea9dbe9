/**
 * The per-block half of verification — decode, pick the author's key, check
 * the signature for the exact slot, hash the block's Merkle leaf — as a pure
 * function, so it runs the same inline and in verification workers
 * (verify-pool.ts). What depends on order (consent, ids, erasures, roles, the
 * tree's roots) stays with the caller, which also re-decides that the key
 * used was the right one.
 */
import hcrypto from 'hypercore-crypto'
import { decodeBlock, isCoreError, USER_AUTHOR, verifyBodySignature, type CryptoProvider, type Entry, type InstitutionRecord } from '@healthchain/core'
import type { RuleView } from './chain-rules.js'

/** The registry as a worker needs it: every institution's states with the position they began. */
export type RegistrySnapshot = ReadonlyArray<Pick<InstitutionRecord, 'id' | 'sign' | 'since'>>

/** Where a segment of the chain begins and the key its positions were signed for (chain-segments.ts). */
export interface SegmentStart {
  readonly key: Uint8Array
  readonly start: number
}

export interface BlocksJob {
  /** The chain's segments, oldest first (one for a chain's first core). */
  readonly segments: readonly SegmentStart[]
  /** Position of blocks[0]. */
  readonly start: number
  /** Block bytes; null where the block is not stored here. */
  readonly blocks: ReadonlyArray<Uint8Array | null>
  /**
   * The user's signing keys known when the job was made (the genesis's, and
   * any rekey's before): a user entry verified under none of them comes back
   * whole, for the rules to check under the key in force at its position.
   */
  readonly userSigns: readonly Uint8Array[]
  readonly registry: RegistrySnapshot
}

export type BlockResult =
  | { readonly status: 'absent' }
  /** Decoded; `key` is the key the signature verified against (undefined: no key could be chosen here). */
  | { readonly status: 'decoded', readonly view: RuleView, readonly key: Uint8Array }
  /**
   * Decoded, but no key of the job verifies its signature, or the job has none for its author: the whole entry,
   * for the rules to check (a user entry after a rekey; an author the registry snapshot lacks).
   */
  | { readonly status: 'unchecked', readonly entry: Entry }
  | { readonly status: 'invalid', readonly code: string, readonly message: string }

export interface BlocksVerdict {
  /** One result per block of the job, in order. */
  readonly results: readonly BlockResult[]
  /** Hypercore's leaf hash of each stored block, 32 bytes per block of the job (zeros where absent). */
  readonly hashes: Uint8Array
}

export const HASH_BYTES = 32
const ABSENT: BlockResult = Object.freeze({ status: 'absent' })

/** The keys that may have signed `view`: the genesis's own, a rekey's revealed one, the user's known ones, or the author's at its registry length. */
function keysFor (view: RuleView, job: BlocksJob): readonly Uint8Array[] {
  if (view.type === 'genesis') return [view.plain.user.sign]
  if (view.type === 'rekey') return [view.plain.sign]
  if (view.author === USER_AUTHOR) return job.userSigns
  let key: Uint8Array | undefined
  for (const record of job.registry) {
    if (record.id === view.author && record.since < view.reg!) key = record.sign
  }
  return key === undefined ? [] : [key]
}

function chainKeyAt (job: BlocksJob, seq: number): Uint8Array {
  let key = job.segments[0]!.key
  for (const segment of job.segments) if (seq >= segment.start) key = segment.key
  return key
}

/** Strips what the rules never read (sealed ciphertext, health data) so results travel light. */
function toView (entry: Entry): RuleView {
  const base = { id: entry.id, author: entry.author, reg: entry.reg, time: entry.time }
  const sealed = entry.sealed === undefined ? undefined : { to: entry.sealed.to.map((r) => ({ key: r.key })) }
  switch (entry.type) {
    case 'genesis': return { ...base, type: 'genesis', plain: entry.plain }
    case 'consent': return { ...base, type: 'consent', plain: entry.plain }
    case 'erasure': return { ...base, type: 'erasure', plain: entry.plain }
    case 'migrate': return { ...base, type: 'migrate', plain: entry.plain }
    case 'rekey': return { ...base, type: 'rekey', plain: entry.plain }
    default: return { ...base, type: entry.type, sealed }
  }
}

function verifyBlock (block: Uint8Array, seq: number, job: BlocksJob, crypto: CryptoProvider): BlockResult {
  try {
    const { entry, body } = decodeBlock(block)
    const view = toView(entry)
    const keys = keysFor(view, job)
    const slot = { chainKey: chainKeyAt(job, seq), seq }
    // No key to choose (an author the snapshot lacks): the rules say why, as they do for any entry.
    if (keys.length === 0) return { status: 'unchecked', entry }
    const key = keys.find((k) => verifyBodySignature(body, entry.sig, slot, k, crypto))
    if (key !== undefined) return { status: 'decoded', view, key }
    // A user's key the job did not know (rotated by a rekey in flight): the rules, which know it, check.
    if (view.author === USER_AUTHOR && view.type !== 'genesis' && view.type !== 'rekey') return { status: 'unchecked', entry }
    return { status: 'invalid', code: 'BAD_SIGNATURE', message: `author signature of entry ${seq} does not verify` }
  } catch (err) {
    if (isCoreError(err)) return { status: 'invalid', code: err.code, message: err.message }
    throw err
  }
}

export function verifyBlocks (job: BlocksJob, crypto: CryptoProvider): BlocksVerdict {
  const hashes = new Uint8Array(HASH_BYTES * job.blocks.length)
  const results = job.blocks.map((block, i): BlockResult => {
    if (block === null) return ABSENT
    // Hashed here rather than by the caller, so the tree check's hashing is spread over the threads too.
    hashes.set(hcrypto.data(block), HASH_BYTES * i)
    return verifyBlock(block, job.start + i, job, crypto)
  })
  return { results, hashes }
}
