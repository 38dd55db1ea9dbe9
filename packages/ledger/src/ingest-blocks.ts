/**
 * A replica's ingest of blocks replication brought: the positions after the
 * verified length are read in storage batches, decoded and their author
 * signatures checked on the verification pool's workers (and the calling
 * thread: verify-schedule.ts), and folded through ChainRules strictly in
 * order on the calling thread, which checks every rule again with the key
 * the worker verified under (`verifiedKey`: the rules still decide which key
 * it had to be).
 *
 * Only the answer "valid, under this key" is taken from a worker. Any other
 * answer (a block that does not decode, a signature no key of the job
 * verifies, a user entry signed after a rekey the job did not know) and any
 * rule that refuses the worker's view sends that one block through the
 * calling thread's full check (decode, signature, every rule): so a refused
 * block is refused with the code a one-thread ingest gives, and nothing
 * after it is folded — chunks verified ahead of it are dropped.
 *
 * An absent block stops the ingest unless the user erased it (an erasure
 * kept here, or a user-signed erasure stored after it: erasures-ahead.ts);
 * a pass over only what has arrived (`arrivedOnly`, while a fetch is still
 * bringing blocks) stops at the first absent block instead of looking ahead.
 */
import type Hypercore from 'hypercore'
import { decodeEntry, type CryptoProvider, type Entry, type RegistryState } from '@healthchain/core'
import type { ChainRules, RuleView } from './chain-rules.js'
import { LedgerError, asLedgerError } from './errors.js'
import { erasuresAhead } from './erasures-ahead.js'
import { readBlocks } from './tree-audit.js'
import type { BlockResult, BlocksVerdict } from './verify-blocks.js'
import { snapshotOf } from './verify-chain.js'
import type { VerifyPool } from './verify-pool.js'
import { verifyInChunks, type ChunkRange } from './verify-schedule.js'

export interface IngestProblem {
  readonly seq: number
  readonly code: string
  readonly message: string
}

export interface IngestBlocksInit {
  readonly core: Hypercore
  readonly rules: ChainRules
  /** The registry as it is now: read at each check, since it may grow during a long ingest. */
  readonly registry: () => RegistryState
  readonly crypto: CryptoProvider
  /** Workers for decoding and signatures; without one (or for a few blocks) everything runs on the calling thread. */
  readonly pool?: VerifyPool
  /** Positions erased here (their leaves kept). */
  readonly erasedHere: { has (seq: number): boolean }
  /** The key position `seq` was signed for. */
  readonly keyAt: (seq: number) => Uint8Array
  /** Clears the blocks an erasure folded names. */
  readonly clearBlocks: (positions: readonly number[]) => Promise<void>
  /** Stop at the first absent block (a fetch still under way), without looking for erasures ahead. */
  readonly arrivedOnly?: boolean
  /** With `arrivedOnly`: whether the transfer still runs (the calling thread carries it, so it leaves the signatures to the workers). */
  readonly transferring?: () => boolean
  /** Called with each entry's id before it is checked: the chain's duplicate check reads what it needs from its id index. */
  readonly beforeCheck?: (id: Uint8Array) => Promise<void>
}

/** The first position from `start` whose block is not stored here (the core's length if none). */
export async function arrivedUntil (core: Hypercore, start: number): Promise<number> {
  let lo = start
  let hi = core.length
  if (lo >= hi || await core.has(lo, hi)) return hi
  // Invariant: [start, lo) is here, [start, hi) is not all here.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (await core.has(lo, mid)) lo = mid
    else hi = mid
  }
  return await core.has(lo) ? hi : lo
}

function problemOf (seq: number, err: unknown): IngestProblem {
  const e = asLedgerError(err)
  return { seq, code: e instanceof LedgerError ? e.code : 'MALFORMED', message: e instanceof Error ? e.message : String(e) }
}

/** Checks and folds the blocks after the rules' length up to `end`; the first refusal, if any (nothing after it is folded). */
export async function ingestBlocks (init: IngestBlocksInit, end: number): Promise<IngestProblem | undefined> {
  const { core, rules, crypto } = init
  const start = rules.length
  if (end <= start) return undefined
  const snapshot = snapshotOf(init.registry())
  const segments = rules.layout.segments.map(({ key, start }) => ({ key, start }))
  let problem: IngestProblem | undefined
  let erasedAhead: ReadonlySet<number> | undefined

  /** The calling thread's full check of one block, as a one-thread ingest makes it: the entry folded. */
  const foldWhole = (block: Uint8Array, seq: number): Entry => {
    const entry = decodeEntry(block)
    rules.check(entry, seq, init.registry())
    rules.apply(entry, seq)
    return entry
  }
  /** The worker's view folded, if the rules take it under the key the worker verified; undefined if they refuse it. */
  const foldView = (result: BlockResult, seq: number): RuleView | undefined => {
    if (result.status !== 'decoded') return undefined
    try {
      rules.check(result.view, seq, init.registry(), { verifiedKey: result.key })
    } catch {
      // Refused as the worker saw it: the full check says why, with the code a one-thread ingest gives.
      return undefined
    }
    rules.apply(result.view, seq)
    return result.view
  }
  /** Folds one block; false where the ingest stops. */
  const foldOne = async (block: Uint8Array | null, result: BlockResult, seq: number): Promise<boolean> => {
    if (block === null) {
      if (init.arrivedOnly === true) return false
      erasedAhead ??= await erasuresAhead(core, seq + 1, rules.user, crypto, init.keyAt)
      if (!init.erasedHere.has(seq) && !erasedAhead.has(seq)) return false
      rules.skip(seq)
      return true
    }
    try {
      if (init.beforeCheck !== undefined) await init.beforeCheck(result.status === 'decoded' ? result.view.id : decodeEntry(block).id)
      const folded = foldView(result, seq) ?? foldWhole(block, seq)
      if (folded.type === 'erasure') await init.clearBlocks(folded.plain.entries)
      return true
    } catch (err) {
      problem = problemOf(seq, err)
      return false
    }
  }

  await verifyInChunks({
    start,
    length: end,
    read: async ({ start, end }: ChunkRange) => ({ blocks: await readBlocks(core, start, end) }),
    // The user's key in force when the job is made; entries after a rekey folded later come back for the full check.
    job: ({ start }, blocks) => ({ segments, start, blocks, userSigns: rules.user === undefined ? [] : [rules.user.sign], registry: snapshot }),
    fold: async (range: ChunkRange, { blocks }, verdict: BlocksVerdict) => {
      for (let i = 0; i < blocks.length; i++) {
        if (!await foldOne(blocks[i] ?? null, verdict.results[i]!, range.start + i)) return false
      }
      return true
    },
    crypto,
    pool: init.pool,
    // While the transfer runs, the calling thread carries it: the workers verify, this thread folds. Until a worker is
    // ready (its start takes seconds from the sources), this thread verifies rather than wait; and from the moment the
    // transfer ends, it takes its share again (a pass then may still have thousands of blocks ahead of it).
    callerVerifies: () => init.arrivedOnly !== true || init.transferring?.() === false,
    whenReady: true
  })
  return problem
}

/**
 * Blocks to have arrived past the last pass before `followArrivals` starts
 * another: a pass of fewer would be checked on the calling thread alone
 * (verify-schedule.ts gives a pool only runs of more than one chunk), which
 * the transfer needs.
 */
export const ARRIVALS_PER_PASS = 128

/**
 * Runs `pass` (an ingest of what has arrived) each time ARRIVALS_PER_PASS
 * more blocks were downloaded into `core`, one pass at a time, until the
 * returned stop is called; the stop waits for the pass under way and gives
 * the positions the passes folded. After a pass that met a refusal no other
 * starts: the ingest that follows the fetch reports it.
 */
export function followArrivals (core: Hypercore, pass: () => Promise<{ readonly added: number, readonly problem?: unknown }>): () => Promise<number> {
  let arrived = 0
  let added = 0
  let running: Promise<void> | undefined
  let done = false
  const next = (): void => {
    if (done || running !== undefined || arrived < ARRIVALS_PER_PASS) return
    arrived = 0
    running = pass().then((result) => {
      added += result.added
      if (result.problem !== undefined) done = true
    }, () => { done = true }).finally(() => {
      running = undefined
      next()
    })
  }
  const onDownload = (): void => {
    arrived++
    next()
  }
  core.on('download', onDownload)
  return async () => {
    done = true
    core.off('download', onDownload)
    await running
    return added
  }
}
