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

export interface BlocksVerdict {
  /** One result per block of the job, in order. */
  readonly results: readonly BlockResult[]
  /** Hypercore's leaf hash of each stored block, 32 bytes per block of the job (zeros where absent). */
  readonly hashes: Uint8Array
}

export const HASH_BYTES = 32
const ABSENT: BlockResult = Object.freeze({ status: 'absent' })

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
function toView (entry: Entry): RuleView {
  const base = { id: entry.id, author: entry.author, reg: entry.reg, time: entry.time }
  const sealed = entry.sealed === undefined ? undefined : { to: entry.sealed.to.map((r) => ({ key: r.key })) }
  switch (entry.type) {
    case 'genesis': return { ...base, type: 'genesis', plain: entry.plain }
    case 'consent': return { ...base, type: 'consent', plain: entry.plain }
    case 'erasure': return { ...base, type: 'erasure', plain: entry.plain }
    default: return { ...base, type: entry.type, sealed }
  }
}

function verifyBlock (block: Uint8Array, seq: number, job: BlocksJob, crypto: CryptoProvider): BlockResult {
  try {
    const { entry, body } = decodeBlock(block)
    const view = toView(entry)
    const key = keyFor(view, job)
    if (key === undefined) return { status: 'decoded', view, key: undefined }
    if (!verifyBodySignature(body, entry.sig, { chainKey: job.chainKey, seq }, key, crypto)) {
      return { status: 'invalid', code: 'BAD_SIGNATURE', message: `author signature of entry ${seq} does not verify` }
    }
    return { status: 'decoded', view, key }
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
