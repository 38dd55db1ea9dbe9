/**
 * The per-block half of verification — decode, pick the author's key, check
 * the signature for the exact slot — as a pure function, so it runs the same
 * inline and in verification workers (verify-pool.ts). What depends on
 * order (consent, ids, erasures, roles) stays with ChainRules on the caller's
 * side, which also re-decides that the key used was the right one.
 */
import { decodeEntry, isCoreError, USER_AUTHOR, verifyEntrySignature, type CryptoProvider, type InstitutionRecord } from '@healthchain/core'
import type { RuleView } from './chain-rules.js'

/** The registry as a worker needs it: every institution's states with the position they began. */
export type RegistrySnapshot = ReadonlyArray<Pick<InstitutionRecord, 'id' | 'sign' | 'since'>>

export interface BlocksJob {
  readonly chainKey: Uint8Array
  /** Position of blocks[0]. */
  readonly start: number
  /** Block bytes; null where the block is not stored here. */
  readonly blocks: ReadonlyArray<Uint8Array | null>
  /** The user's signing key from the genesis; undefined while unknown. */
  readonly userSign: Uint8Array | undefined
  readonly registry: RegistrySnapshot
}

export type BlockResult =
  | { readonly status: 'absent' }
  /** Decoded; `key` is the key the signature verified against (undefined: no key could be chosen here). */
  | { readonly status: 'decoded', readonly view: RuleView, readonly key: Uint8Array | undefined }
  | { readonly status: 'invalid', readonly code: string, readonly message: string }

function keyFor (view: RuleView, job: BlocksJob): Uint8Array | undefined {
  if (view.type === 'genesis') return view.plain.user.sign
  if (view.author === USER_AUTHOR) return job.userSign
  let key: Uint8Array | undefined
  for (const record of job.registry) {
    if (record.id === view.author && record.since < view.reg!) key = record.sign
  }
  return key
}

/** Strips what the rules never read (sealed ciphertext, health data) so results travel light. */
function toView (entry: ReturnType<typeof decodeEntry>): RuleView {
  const base = { id: entry.id, author: entry.author, reg: entry.reg, time: entry.time }
  const sealed = entry.sealed === undefined ? undefined : { to: entry.sealed.to.map((r) => ({ key: r.key })) }
  switch (entry.type) {
    case 'genesis': return { ...base, type: 'genesis', plain: entry.plain }
    case 'consent': return { ...base, type: 'consent', plain: entry.plain }
    case 'erasure': return { ...base, type: 'erasure', plain: entry.plain }
    default: return { ...base, type: entry.type, sealed }
  }
}

export function verifyBlocks (job: BlocksJob, crypto: CryptoProvider): BlockResult[] {
  return job.blocks.map((block, i): BlockResult => {
    if (block === null) return { status: 'absent' }
    const seq = job.start + i
    try {
      const entry = decodeEntry(block)
      const view = toView(entry)
      const key = keyFor(view, job)
      if (key === undefined) return { status: 'decoded', view, key: undefined }
      if (!verifyEntrySignature(entry, { chainKey: job.chainKey, seq }, key, crypto)) {
        return { status: 'invalid', code: 'BAD_SIGNATURE', message: `author signature of entry ${seq} does not verify` }
      }
      return { status: 'decoded', view, key }
    } catch (err) {
      if (isCoreError(err)) return { status: 'invalid', code: err.code, message: err.message }
      throw err
    }
  })
}
