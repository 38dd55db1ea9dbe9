/**
 * Hypercore's own integrity, checked from what is on disk: every stored block
 * against its leaf in the Merkle tree, every tree node against its children,
 * the roots against the tree hash, and the custodian's signature over
 * (key, tree hash, length, fork) against the core's manifest signer.
 *
 * Hypercore checks all of this when it receives data from a peer, but offers
 * no public call to re-check a local core. This file is the one place that
 * reaches into hypercore 11.37.1's internals (`core.core.audit` in dry-run
 * mode, `core.state.signature`, `lib/caps.js`); the version is pinned and
 * packages/ledger/test/tree-audit.test.ts fails first if an upgrade moves them.
 */
import { createRequire } from 'node:module'
import Hypercore from 'hypercore'
import hcrypto from 'hypercore-crypto'

const require = createRequire(import.meta.url)
const caps = require('hypercore/lib/caps.js') as {
  treeSignable (manifestHash: Uint8Array, treeHash: Uint8Array, length: number, fork: number): Buffer
}

interface AuditStats {
  treeNodes: number
  blocks: number
  droppedTreeNodes: number
  droppedBlocks: number
  droppedBits: number
  corrupt: boolean
}

interface InternalCore {
  core: { audit (opts: { dryRun: boolean }): Promise<AuditStats | null> }
}

export interface TreeAudit {
  readonly ok: boolean
  /** Blocks whose bytes were checked against the tree. */
  readonly blocksChecked: number
  /** What failed, if anything (no data from the chain). */
  readonly problem: string | undefined
}

/** The raw Ed25519 signature inside hypercore's multisig encoding of one signer (bytes [2, 66)). */
function rawHeadSignature (encoded: Uint8Array | null): Uint8Array | null {
  if (encoded === null || encoded.length < 66) return null
  return encoded.subarray(2, 66)
}

export async function auditTree (core: Hypercore): Promise<TreeAudit> {
  await core.ready()
  if (core.length === 0) return { ok: true, blocksChecked: 0, problem: undefined }
  const stats = await (core as unknown as InternalCore).core.audit({ dryRun: true })
  if (stats === null || stats.corrupt) return { ok: false, blocksChecked: 0, problem: 'tree roots are missing' }
  if (stats.droppedTreeNodes > 0) return { ok: false, blocksChecked: stats.blocks, problem: `${stats.droppedTreeNodes} tree node(s) do not match their children` }
  if (stats.droppedBlocks > 0) return { ok: false, blocksChecked: stats.blocks, problem: `${stats.droppedBlocks} block(s) do not match the tree` }

  const signer = core.manifest?.signers[0]?.publicKey
  const signature = rawHeadSignature(core.state?.signature ?? null)
  if (signer === undefined || signature === null || core.key === null) {
    return { ok: false, blocksChecked: stats.blocks, problem: 'the head has no signature' }
  }
  const treeHash = await Hypercore.treeHashFromStorage(core, core.length)
  const signable = caps.treeSignable(core.key, treeHash, core.length, core.fork)
  if (!hcrypto.verify(signable, signature, signer)) {
    return { ok: false, blocksChecked: stats.blocks, problem: 'the head signature does not verify' }
  }
  return { ok: true, blocksChecked: stats.blocks, problem: undefined }
}
