/**
 * Whole-chain verification, as a regulator's replica runs it:
 * 1. Hypercore's tree: the Merkle roots rebuilt from every stored block (and
 *    the stored leaf of every cleared one) must be what the custodian signed
 *    at this length (merkle.ts, tree-audit.ts);
 * 2. every entry through ChainRules from a fresh state: canonical encoding,
 *    the author's signature for its exact slot, the author's role and status
 *    in the registry at the length it signed against, consent for every
 *    sealed recipient, erasures naming only erasable earlier entries;
 * 3. every block absent here must be explained by an erasure entry.
 *
 * Blocks are read in windows; decoding and signature checks of a window run
 * on a VerifyPool's workers or on the calling thread, which takes its share
 * (everything inline without a pool), while the next windows are read;
 * results are folded through ChainRules strictly in order. Problems are
 * collected, not thrown, so one report lists them all.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, decodeEntry, type CryptoProvider, type RegistryState, type UserId } from '@healthchain/core'
import { ChainRules } from './chain-rules.js'
import { asLedgerError, LedgerError, type LedgerErrorCode } from './errors.js'
import { RootBuilder, type MerkleNode } from './merkle.js'
import { headSignatureValid, signedHead, storedLeaves, type TreeAudit } from './tree-audit.js'
import { verifyBlocks, type BlockResult, type BlocksJob, type RegistrySnapshot } from './verify-blocks.js'
import type { VerifyPool } from './verify-pool.js'

/** Blocks per window: large enough to amortise a worker round trip, small enough to bound memory. */
const WINDOW = 512
/** Windows read ahead of the one being folded. */
const READ_AHEAD = 4

export interface ChainProblem {
  /** The position concerned; undefined for problems of the whole chain. */
  readonly seq: number | undefined
  readonly code: LedgerErrorCode
  readonly message: string
}

export interface ChainReport {
  readonly chainKey: string
  readonly userId: UserId | undefined
  readonly length: number
  readonly valid: boolean
  readonly tree: TreeAudit
  /** Entries whose author signature and rules were checked. */
  readonly verified: number
  /** Positions cleared at the user's request (their hashes still verify). */
  readonly erased: readonly number[]
  /** Positions absent here with no erasure to explain them. */
  readonly missing: readonly number[]
  readonly problems: readonly ChainProblem[]
}

export interface VerifyOptions {
  /** Workers for decoding and signatures; without one, everything runs inline. */
  readonly pool?: VerifyPool
  /** Leaf nodes kept when blocks were erased here (erased-leaves.ts), by position. */
  readonly erasedLeaves?: ReadonlyMap<number, MerkleNode>
}

function snapshotOf (registry: RegistryState): RegistrySnapshot {
  return registry.institutions().flatMap((r) => registry.historyOf(r.id).map(({ id, sign, since }) => ({ id, sign, since })))
}

function problemOf (seq: number, err: unknown): ChainProblem {
  const e = asLedgerError(err)
  if (e instanceof LedgerError) return { seq, code: e.code, message: e.message }
  throw err
}

export async function verifyChain (core: Hypercore, registry: RegistryState, crypto: CryptoProvider, opts: VerifyOptions = {}): Promise<ChainReport> {
  await core.ready()
  const head = signedHead(core)
  const { length } = head
  const chainKey = core.key!
  const rules = new ChainRules(chainKey, crypto)
  const roots = new RootBuilder()
  const problems: ChainProblem[] = []
  const absent: number[] = []
  let verified = 0
  const snapshot = snapshotOf(registry)

  // The genesis names the user's key, which workers need for the user's own entries.
  const first = length > 0 ? await core.get(0, { wait: false }) : null
  let userSign: Uint8Array | undefined
  try {
    const genesis = first === null ? undefined : decodeEntry(first)
    if (genesis?.type === 'genesis') userSign = genesis.plain.user.sign
  } catch {
    // Reported when block 0 is checked below.
  }

  const usePool = opts.pool !== undefined && opts.pool.size > 0 && length > WINDOW
  interface Window {
    readonly start: number
    readonly blocks: ReadonlyArray<Uint8Array | null>
    /** Stored leaf nodes of the cleared blocks, by position. */
    readonly leaves: ReadonlyMap<number, { index: number, size: number, hash: Uint8Array } | null>
    readonly results: Promise<BlockResult[]>
  }
  // Windows are read concurrently; everything order-dependent (tree, rules) happens when they are taken in order below.
  const readWindow = async (start: number): Promise<Window> => {
    const end = Math.min(length, start + WINDOW)
    const reads: Array<Promise<Uint8Array | null>> = []
    for (let seq = start; seq < end; seq++) reads.push(core.get(seq, { wait: false }))
    const blocks = await Promise.all(reads)
    const cleared = blocks.flatMap((b, i) => b === null ? [start + i] : [])
    const unknown = cleared.filter((seq) => opts.erasedLeaves?.get(seq) === undefined)
    const stored = unknown.length === 0 ? [] : await storedLeaves(core, unknown)
    const leaves = new Map(cleared.map((seq) => [seq, opts.erasedLeaves?.get(seq) ?? stored[unknown.indexOf(seq)] ?? null]))
    const job: BlocksJob = { chainKey, start, blocks, userSign, registry: snapshot }
    // The calling thread takes its share of windows too: with n workers, every (n+1)th.
    const inline = !usePool || (start / WINDOW) % (opts.pool!.size + 1) === opts.pool!.size
    return { start, blocks, leaves, results: inline ? Promise.resolve(verifyBlocks(job, crypto)) : opts.pool!.run(job) }
  }
  const pushLeaves = (window: Window): void => {
    window.blocks.forEach((block, i) => {
      if (block !== null) return roots.pushBlock(block)
      const leaf = window.leaves.get(window.start + i)
      if (leaf === null || leaf === undefined) throw new LedgerError('TREE_MISMATCH', `no tree node is stored for block ${window.start + i}`)
      roots.pushLeaf(leaf)
    })
  }

  let treeProblem: string | undefined
  const windows: Array<Promise<Window>> = []
  for (let start = 0; start < length || windows.length > 0;) {
    while (start < length && windows.length < READ_AHEAD) {
      windows.push(readWindow(start))
      start += WINDOW
    }
    const window = await windows.shift()!
    try {
      if (treeProblem === undefined) pushLeaves(window)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      treeProblem = err.message
    }
    const results = await window.results
    results.forEach((result, i) => {
      const seq = window.start + i
      if (result.status === 'absent') {
        absent.push(seq)
        rules.skip(seq)
      } else if (result.status === 'invalid') {
        problems.push({ seq, code: result.code as LedgerErrorCode, message: result.message })
        rules.skip(seq)
      } else {
        try {
          rules.check(result.view, seq, registry, result.key === undefined ? {} : { verifiedKey: result.key })
          rules.apply(result.view, seq)
          verified++
        } catch (err) {
          problems.push(problemOf(seq, err))
          rules.skip(seq)
        }
      }
    })
  }

  if (treeProblem === undefined && roots.length === length && length > 0 && !headSignatureValid(core, head, roots.treeHash())) {
    treeProblem = 'the stored blocks do not match the signed head'
  }
  if (treeProblem !== undefined) problems.unshift({ seq: undefined, code: 'TREE_MISMATCH', message: treeProblem })
  const tree: TreeAudit = { ok: treeProblem === undefined, blocksChecked: treeProblem === undefined ? length - absent.length : 0, problem: treeProblem }

  const erased = absent.filter((seq) => rules.erasures.has(seq))
  const missing = absent.filter((seq) => !rules.erasures.has(seq))
  for (const seq of missing) {
    problems.push({ seq, code: seq === 0 ? 'BAD_GENESIS' : 'MISSING_BLOCK', message: `block ${seq} is not stored here and no erasure names it` })
  }
  return {
    chainKey: bytesToHex(chainKey),
    userId: rules.user?.userId,
    length,
    valid: problems.length === 0,
    tree,
    verified,
    erased,
    missing,
    problems
  }
}
