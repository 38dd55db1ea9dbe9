/**
 * Fills a continuation core's prologue from the core it continues, with
 * hypercore 11.37.1's internal Core.copyPrologue (lib/copy-prologue.js; not
 * in its README, so pinned like tree-audit.ts). It checks that the source's
 * roots hash to the manifest's prologue, copies blocks and tree nodes, and
 * skips absent blocks (erased ones: the ledger keeps their tree nodes). It is
 * a silent no-op on a source shorter than the prologue, so the length and
 * the tree hash are checked again here.
 */
import type Hypercore from 'hypercore'
import { equal } from '@healthchain/core'
import { LedgerError } from './errors.js'
import { storedTreeHash } from './tree-audit.js'

interface InternalCore {
  copyPrologue (source: unknown): Promise<void>
}

export async function copyPrologue (target: Hypercore, source: Hypercore, length: number, hash: Uint8Array): Promise<void> {
  const core = (target as unknown as { core: InternalCore }).core
  try {
    await core.copyPrologue(source.state)
  } catch (err) {
    throw new LedgerError('TREE_MISMATCH', 'the held chain does not match the continuation\'s prologue', { cause: err })
  }
  // A replica's target may already hold blocks past the prologue (its migrate, fetched first): the prologue is then below its head.
  if (target.length < length) throw new LedgerError('MISSING_BLOCK', `the continuation holds ${target.length} of the ${length} blocks it continues`)
  if (!equal(await storedTreeHash(target, length), hash)) throw new LedgerError('TREE_MISMATCH', 'the copied prologue does not hash to the manifest\'s')
}
