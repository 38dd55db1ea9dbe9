/**
 * Whole-chain verification, as a regulator's replica runs it:
 * 1. Hypercore's tree: every stored block against the Merkle tree, and the
 *    custodian's signature over the head (tree-audit.ts);
 * 2. every entry through ChainRules from a fresh state: canonical encoding,
 *    the author's signature for its exact slot, the author's role and status
 *    in the registry at the length it signed against, consent for every
 *    sealed recipient, erasures naming only erasable earlier entries;
 * 3. every block absent here must be explained by an erasure entry.
 *
 * Problems are collected, not thrown, so one report lists all of them.
 */
import type Hypercore from 'hypercore'
import { bytesToHex, decodeEntry, type CryptoProvider, type RegistryState, type UserId } from '@healthchain/core'
import { ChainRules } from './chain-rules.js'
import { asLedgerError, LedgerError, type LedgerErrorCode } from './errors.js'
import { auditTree, type TreeAudit } from './tree-audit.js'

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

export async function verifyChain (core: Hypercore, registry: RegistryState, crypto: CryptoProvider): Promise<ChainReport> {
  await core.ready()
  const length = core.length
  const tree = await auditTree(core)
  const problems: ChainProblem[] = []
  if (!tree.ok) problems.push({ seq: undefined, code: 'TREE_MISMATCH', message: tree.problem ?? 'tree does not verify' })

  const rules = new ChainRules(core.key!, crypto)
  const absent: number[] = []
  let verified = 0
  for (let seq = 0; seq < length; seq++) {
    const block = await core.get(seq, { wait: false })
    if (block === null) {
      absent.push(seq)
      rules.skip(seq)
      continue
    }
    try {
      const entry = decodeEntry(block)
      rules.check(entry, seq, registry)
      rules.apply(entry, seq)
      verified++
    } catch (err) {
      const e = asLedgerError(err)
      const code = e instanceof LedgerError ? e.code : 'MALFORMED'
      problems.push({ seq, code, message: e instanceof Error ? e.message : String(e) })
      rules.skip(seq)
    }
  }

  const erased = absent.filter((seq) => rules.erasures.has(seq))
  const missing = absent.filter((seq) => !rules.erasures.has(seq))
  for (const seq of missing) {
    problems.push({ seq, code: seq === 0 ? 'BAD_GENESIS' : 'MISSING_BLOCK', message: `block ${seq} is not stored here and no erasure names it` })
  }
  return {
    chainKey: bytesToHex(core.key!),
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
