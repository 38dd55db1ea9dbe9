/**
 * Hypercore's own integrity, re-checked from what is on disk: the Merkle
 * roots rebuilt from the stored blocks (merkle.ts) must hash to a tree hash
 * that the custodian signed for (key, length, fork) — which proves every
 * stored block, in place, against the signed head.
 *
 * Hypercore checks this when it receives data from a peer, but offers no
 * public call to re-check a local core. This file is the one place that
 * reaches into hypercore 11.37.1's internals: the stored head signature
 * (`core.state.signature`), the Merkle roots kept in memory beside it
 * (`core.state.roots`), stored tree nodes (leaves of cleared blocks, the
 * nodes of a consistency proof: `core.state.storage.read().getTreeNode`),
 * batched block reads (`getBlock` on the same read batch), tree nodes
 * written back after a clear (`storage.write().putTreeNode`), the proof a
 * `conflict` event carries (hypercore's wire `data` message), and
 * `lib/caps.js` for the signed layout. The version is pinned;
 * packages/ledger/test/tree-audit.test.ts and consistency.test.ts (and, for
 * the `conflict` proof, test/forks-any-length.test.ts) fail first if an
 * upgrade moves them.
 */
import { createRequire } from 'node:module'
import Hypercore from 'hypercore'
import hcrypto from 'hypercore-crypto'
import flat from 'flat-tree'
import type { MerkleNode } from './merkle.js'

const require = createRequire(import.meta.url)
const caps = require('hypercore/lib/caps.js') as {
  treeSignable (manifestHash: Uint8Array, treeHash: Uint8Array, length: number, fork: number): Buffer
}

interface InternalReadBatch {
  getTreeNode (index: number): Promise<MerkleNode | null>
  getBlock (index: number): Promise<Uint8Array | null>
  tryFlush (): void
}
/** What core.get consults besides storage: an encrypted or encoded core's blocks are not the stored bytes. */
interface InternalSession { readonly encryption: unknown, readonly valueEncoding: unknown }
interface InternalWriteBatch {
  putTreeNode (node: MerkleNode): void
  flush (): Promise<unknown>
}
interface InternalStorage { read (): InternalReadBatch, write (): InternalWriteBatch }

export interface TreeAudit {
  readonly ok: boolean
  /** Blocks whose bytes were checked against the signed tree. */
  readonly blocksChecked: number
  /** What failed, if anything (never data from the chain). */
  readonly problem: string | undefined
}

/** The raw Ed25519 signature inside hypercore's multisig encoding of one signer (bytes [2, 66)), copied. */
export function rawHeadSignature (encoded: Uint8Array | null | undefined): Uint8Array | null {
  if (encoded === null || encoded === undefined || encoded.length < 66) return null
  // A copy, never a view: `encoded` is a Buffer (whose slice() does not copy) that hypercore may reuse.
  return new Uint8Array(encoded.subarray(2, 66))
}

/**
 * The 112 bytes a Hypercore head signature covers:
 * TREE namespace (32) ‖ core key (32) ‖ tree hash (32) ‖ u64le length ‖ u64le fork.
 */
export function treeSignable (key: Uint8Array, root: Uint8Array, length: number, fork: number): Uint8Array {
  return new Uint8Array(caps.treeSignable(key, root, length, fork))
}

/**
 * The key of the core whose manifest has `signer` as its one (version 1,
 * default-namespace) signer — what Corestore makes for a named core — so a
 * head's signer is bound to its chain key without any lookup.
 */
export function coreKeyOfSigner (signer: Uint8Array): Uint8Array {
  return new Uint8Array(Hypercore.key(signer))
}

/** A core's head as stored, for carrying to other nodes (packages/net's SignedHead). */
export interface StoredHead {
  readonly key: Uint8Array
  readonly signer: Uint8Array
  readonly length: number
  readonly fork: number
  readonly sig: Uint8Array
  /** A continuation core's manifest prologue: the signer owns the key only with it (coreKeyOfManifest). Absent on a chain's first core. */
  readonly prologue?: { readonly hash: Uint8Array, readonly length: number }
}

/** The stored head of an open core, read synchronously; null when it has none (empty, no manifest yet, no stored signature). */
export function storedHead (core: Hypercore): StoredHead | null {
  const signer = core.manifest?.signers[0]?.publicKey
  const sig = rawHeadSignature(core.state?.signature)
  if (core.key === null || signer === undefined || sig === null || core.length === 0) return null
  const head = { key: new Uint8Array(core.key), signer: new Uint8Array(signer), length: core.length, fork: core.fork, sig }
  const prologue = core.manifest?.prologue
  return prologue == null ? head : { ...head, prologue: { hash: new Uint8Array(prologue.hash), length: prologue.length } }
}

/**
 * The signed head of a core this process writes, with its tree hash, from
 * memory: one append updates the length, the head signature and the Merkle
 * roots together, so read in one synchronous step they belong together and
 * need neither a storage read nor a signature check. Null when the core is
 * not writable here or has no head yet.
 */
export function writerHead (core: Hypercore): { head: StoredHead, root: Uint8Array } | null {
  return core.writable ? headInMemory(core) : null
}

/**
 * The stored head of any open core (writer or replica) with the tree hash of
 * the Merkle roots hypercore keeps in memory beside it, read synchronously:
 * for a `conflict` handler, which runs just before hypercore closes every
 * session of the core. Unverified: a replica's pair was verified when it
 * arrived, but check it (net's verifyHead) before showing it to anyone.
 */
export function headInMemory (core: Hypercore): { head: StoredHead, root: Uint8Array } | null {
  if (core.state === null) return null
  const head = storedHead(core)
  if (head === null || core.state.length !== head.length) return null
  return { head, root: new Uint8Array(hcrypto.tree(core.state.roots)) }
}

/**
 * What a peer sent that hypercore found to conflict with the local tree
 * (the third argument of a core's `conflict` event, hypercore's wire `data`
 * message): the full roots of its tree at `length`, then the nodes that hash
 * them up to the roots of the length it signed (none when it signed
 * `length` itself), and its head signature. Hypercore checked the signature
 * against its manifest before emitting the event.
 */
export interface ConflictingUpgrade {
  readonly length: number
  readonly fork: number
  /** Full roots at `length` (flat-tree order), then hypercore's additional nodes, in the order it sent them. */
  readonly roots: readonly MerkleNode[]
  readonly additional: readonly MerkleNode[]
  /** The raw Ed25519 signature of the peer's head. */
  readonly signature: Uint8Array
}

interface InternalUpgradeProof {
  readonly fork?: unknown
  readonly upgrade?: { length?: unknown, nodes?: unknown, additionalNodes?: unknown, signature?: unknown } | null
}

function nodesOf (value: unknown): MerkleNode[] | null {
  if (!Array.isArray(value)) return null
  const nodes: MerkleNode[] = []
  for (const n of value as Array<Partial<MerkleNode> | null>) {
    if (typeof n?.index !== 'number' || typeof n.size !== 'number' || !(n.hash instanceof Uint8Array)) return null
    nodes.push({ index: n.index, size: n.size, hash: new Uint8Array(n.hash) })
  }
  return nodes
}

/** The conflicting upgrade inside a `conflict` event's proof, copied; null if it is not shaped as hypercore 11.37.1 sends it. */
export function conflictingUpgrade (proof: unknown): ConflictingUpgrade | null {
  const { fork, upgrade } = (proof ?? {}) as InternalUpgradeProof
  if (typeof fork !== 'number' || upgrade === null || upgrade === undefined || typeof upgrade.length !== 'number') return null
  const roots = nodesOf(upgrade.nodes)
  const additional = nodesOf(upgrade.additionalNodes)
  const signature = rawHeadSignature(upgrade.signature instanceof Uint8Array ? upgrade.signature : null)
  if (roots === null || additional === null || signature === null) return null
  return { length: upgrade.length, fork, roots, additional, signature }
}

/** Tree hash at `length` from local tree nodes only (never waits for a peer). */
export async function storedTreeHash (core: Hypercore, length: number): Promise<Uint8Array> {
  return new Uint8Array(await Hypercore.treeHashFromStorage(core, length))
}

/** The core's signed head as stored: take it before reading blocks, so later appends don't race it. */
export interface SignedHead {
  readonly length: number
  readonly fork: number
  readonly signature: Uint8Array | null
}

export function signedHead (core: Hypercore): SignedHead {
  return { length: core.length, fork: core.fork, signature: rawHeadSignature(core.state?.signature) }
}

/** Whether the custodian's head signature covers `treeHash` at the head's length and fork. */
export function headSignatureValid (core: Hypercore, head: SignedHead, treeHash: Uint8Array): boolean {
  const signer = core.manifest?.signers[0]?.publicKey
  if (signer === undefined || head.signature === null || core.key === null) return false
  return hcrypto.verify(treeSignable(core.key, treeHash, head.length, head.fork), head.signature, signer)
}

/** Stored leaf nodes (hash and size) of blocks whose data is not stored here. */
export async function storedLeaves (core: Hypercore, positions: readonly number[]): Promise<Array<MerkleNode | null>> {
  return await storedTreeNodes(core, positions.map((seq) => 2 * seq))
}

/**
 * Tree nodes (flat-tree index, byte size, hash) as stored here, read in one
 * storage batch; null where a node is not stored (never replicated here, or
 * deleted by clear()). Hashes are copied: hypercore may hand out views of a
 * shared buffer.
 */
export async function storedTreeNodes (core: Hypercore, indexes: readonly number[]): Promise<Array<MerkleNode | null>> {
  const storage = (core.state as unknown as { storage: InternalStorage }).storage
  const rx = storage.read()
  const nodes = indexes.map((index) => rx.getTreeNode(index))
  rx.tryFlush()
  return (await Promise.all(nodes)).map((node) => node === null ? null : { index: node.index, size: node.size, hash: new Uint8Array(node.hash) })
}

/**
 * The stored tree nodes that Hypercore's `clear()` of `positions` may delete:
 * from each block's leaf up to (not including) a root of the current tree,
 * each node and its sibling — the walk `clear()` makes. clear() deletes
 * them while the sibling's blocks are absent, and by its own bounds check
 * also the leaf of a neighbour whose block stays: without them this node can
 * no longer prove an upgrade past the cleared block to a peer that is
 * behind it (a replica that missed the erasure waited for ever), nor some
 * remaining blocks. They are hashes, no data: read them before clearing and
 * put back what clear() removed (`restoreTreeNodes`).
 */
export async function treeNodesAround (core: Hypercore, positions: readonly number[]): Promise<MerkleNode[]> {
  const roots = new Set(flat.fullRoots(2 * core.length))
  const indexes = new Set<number>()
  for (const seq of positions) {
    for (let index = 2 * seq; !roots.has(index) && index < 4 * core.length; index = flat.parent(index)) {
      indexes.add(index)
      indexes.add(flat.sibling(index))
    }
  }
  return (await storedTreeNodes(core, [...indexes])).filter((node): node is MerkleNode => node !== null)
}

/** Writes tree nodes back into the core's storage (hashes Hypercore itself computed, see treeNodesAround). */
export async function restoreTreeNodes (core: Hypercore, nodes: readonly MerkleNode[]): Promise<void> {
  if (nodes.length === 0) return
  const tx = (core.state as unknown as { storage: InternalStorage }).storage.write()
  for (const node of nodes) tx.putTreeNode(node)
  await tx.flush()
}

/**
 * The stored blocks at [start, end), read in one storage batch (one RocksDB
 * multi-get) instead of one batch per block as core.get does — that cost the
 * calling thread about 7 µs per block when verifying a chain. Where the batch
 * finds nothing, core.get (without waiting, so never from a peer) has the
 * last word, as it also re-checks what it would before going to the network:
 * null means the block is not stored here.
 */
export async function readBlocks (core: Hypercore, start: number, end: number, opts: ReadOptions = {}): Promise<Array<Uint8Array | null>> {
  return await readBlocksAt(core, Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i), opts)
}

export interface ReadOptions {
  /**
   * False: the batch's "nothing" is the answer, without core.get's look per
   * absent block (one storage read each), for a caller that learns of blocks
   * arriving later from Hypercore's events anyway.
   */
  readonly recheck?: boolean
}

/** The stored blocks at `positions`, in one storage batch (as readBlocks). */
export async function readBlocksAt (core: Hypercore, positions: readonly number[], opts: ReadOptions = {}): Promise<Array<Uint8Array | null>> {
  const session = core as unknown as InternalSession
  const plain = session.encryption === null && session.valueEncoding === null
  const storage = (core.state as unknown as { storage: InternalStorage }).storage
  const rx = plain ? storage.read() : null
  const reads: Array<Promise<Uint8Array | null>> = positions.map((seq) => rx === null ? core.get(seq, { wait: false }) : rx.getBlock(seq))
  rx?.tryFlush()
  const blocks = await Promise.all(reads)
  if (rx === null || opts.recheck === false) return blocks
  return await Promise.all(blocks.map(async (block, i) => block ?? await core.get(positions[i]!, { wait: false })))
}
