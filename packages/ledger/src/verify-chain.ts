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
 * Blocks are read, decoded, signature-checked and hashed in chunks, on a
 * VerifyPool's workers and the calling thread (verify-schedule.ts); the
 * tree and ChainRules take the results strictly in order. Problems are
 * collected, not thrown, so one report lists them all.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, decodeEntry, type CryptoProvider, type RegistryState, type UserId } from '@healthchain/core'
import { ChainRules } from './chain-rules.js'
import { describeSegments, firstCoreLayout, readLayout, type ChainLayout } from './chain-segments.js'
import { asLedgerError, LedgerError, type LedgerErrorCode } from './errors.js'
import { RootBuilder, type MerkleNode } from './merkle.js'
import { headSignatureValid, readBlocks, signedHead, storedLeaves, type TreeAudit } from './tree-audit.js'
import { HASH_BYTES, type BlocksVerdict, type RegistrySnapshot } from './verify-blocks.js'
import type { VerifyPool } from './verify-pool.js'
import { verifyInChunks, type ChunkRange } from './verify-schedule.js'

export interface ChainProblem {
  /** The position concerned; undefined for problems of the whole chain. */
  readonly seq: number | undefined
  readonly code: LedgerErrorCode
  readonly message: string
}

export interface ChainReport {
  readonly chainKey: string
  /** The cores the chain was written in, oldest first: key (hex) and positions [start, end); one for a chain that never moved. */
  readonly segments: ReadonlyArray<{ readonly key: string, readonly start: number, readonly end: number }>
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

/** The registry as verification workers need it (verify-blocks.ts). */
export function snapshotOf (registry: RegistryState): RegistrySnapshot {
  // Keys copied into arrays of their own: a view into a shared buffer (a Node Buffer's pool) is cloned with all of it, for every job.
  return registry.institutions().flatMap((r) => registry.historyOf(r.id).map(({ id, sign, since }) => ({ id, sign: new Uint8Array(sign), since })))
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
  const problems: ChainProblem[] = []
  let layout: ChainLayout
  try {
    layout = await readLayout(core)
  } catch (err) {
    // A continuation whose migrate is absent or does not fit: its earlier entries are checked as if the core were the chain's first.
    problems.push(problemOf(core.manifest?.prologue?.length ?? 0, err))
    layout = firstCoreLayout(chainKey)
  }
  const rules = new ChainRules(chainKey, crypto, layout)
  const roots = new RootBuilder()
  const absent: number[] = []
  let verified = 0
  const snapshot = snapshotOf(registry)

  // The genesis names the user's key, which workers need for the user's own entries.
  const first = length > 0 ? await core.get(0, { wait: false }) : null
  const userSigns: Uint8Array[] = []
  const segments = layout.segments.map(({ key, start }) => ({ key, start }))
  try {
    const genesis = first === null ? undefined : decodeEntry(first)
    if (genesis?.type === 'genesis') userSigns.push(genesis.plain.user.sign)
  } catch {
    // Reported when block 0 is checked below.
  }

  interface ReadChunk {
    readonly blocks: ReadonlyArray<Uint8Array | null>
    /** Stored leaf nodes of the cleared blocks, by position. */
    readonly leaves: ReadonlyMap<number, MerkleNode | null>
  }
  const read = async ({ start, end }: ChunkRange): Promise<ReadChunk> => {
    const blocks = await readBlocks(core, start, end)
    const cleared = blocks.flatMap((b, i) => b === null ? [start + i] : [])
    const unknown = cleared.filter((seq) => opts.erasedLeaves?.get(seq) === undefined)
    const stored = unknown.length === 0 ? [] : await storedLeaves(core, unknown)
    return { blocks, leaves: new Map(cleared.map((seq) => [seq, opts.erasedLeaves?.get(seq) ?? stored[unknown.indexOf(seq)] ?? null])) }
  }

  let treeProblem: string | undefined
  const pushLeaves = ({ start }: ChunkRange, { blocks, leaves }: ReadChunk, hashes: Uint8Array): void => {
    blocks.forEach((block, i) => {
      const seq = start + i
      if (block !== null) return roots.pushLeaf({ index: 2 * seq, size: block.byteLength, hash: hashes.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)) })
      const leaf = leaves.get(seq)
      if (leaf === null || leaf === undefined) throw new LedgerError('TREE_MISMATCH', `no tree node is stored for block ${seq}`)
      roots.pushLeaf(leaf)
    })
  }
  const fold = (range: ChunkRange, chunk: ReadChunk, verdict: BlocksVerdict): void => {
    try {
      if (treeProblem === undefined) pushLeaves(range, chunk, verdict.hashes)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      treeProblem = err.message
    }
    verdict.results.forEach((result, i) => {
      const seq = range.start + i
      if (result.status === 'absent') {
        absent.push(seq)
        rules.skip(seq)
      } else if (result.status === 'invalid') {
        problems.push({ seq, code: result.code as LedgerErrorCode, message: result.message })
        rules.skip(seq)
      } else {
        const view = result.status === 'unchecked' ? result.entry : result.view
        try {
          // Unchecked: no key the job knew verified it; the rules check its signature under the user's key in force here.
          rules.check(view, seq, registry, result.status === 'unchecked' ? {} : { verifiedKey: result.key })
          rules.apply(view, seq)
          verified++
        } catch (err) {
          problems.push(problemOf(seq, err))
          rules.skip(seq)
        }
      }
    })
  }
  await verifyInChunks({
    length,
    read,
    // The user's key in force when the job is made (a rekey before it moved it on), and the genesis's.
    job: ({ start }, blocks) => ({
      segments, start, blocks, userSigns: [...(rules.user === undefined ? [] : [rules.user.sign]), ...userSigns], registry: snapshot
    }),
    fold,
    crypto,
    pool: opts.pool
  })

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
    segments: describeSegments(layout, length),
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
