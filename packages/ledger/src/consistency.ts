/**
 * Merkle consistency between two lengths of one Hypercore tree: what proves
 * that a history of length b does (or does not) extend a head of length a.
 *
 * The custodian signs, for each length it writes, the tree hash over the
 * full roots ("peaks") of its tree at that length. If the history of
 * length b > a extends the one of length a, the peaks of a are nodes of b's
 * tree with the same hashes. A consistency proof lists, from b's tree:
 *
 *   1. the peaks of a (flat-tree `fullRoots(2a)`), left to right;
 *   2. going up from the last peak of a to the peak of b that holds it,
 *      every sibling on the right (a sibling on the left is always an
 *      earlier peak of a, already listed);
 *   3. every peak of b to the right of that one.
 *
 * The set is fixed by (a, b) and sorted by flat-tree index, which for these
 * disjoint subtrees is left to right: one pair of lengths, one list.
 * Folding the list left to right (RootBuilder) ends at b's peaks, whose tree
 * hash must be b's signed root; the tree hash of part 1 is the root that b's
 * history has at length a. Hypercore's own upgrade proofs (an upgrade from 0
 * to a, with "additional nodes" up to the signed length b) carry exactly
 * these nodes in this order, so what a `conflict` event hands over is such
 * a proof.
 */
import flat from 'flat-tree'
import hcrypto from 'hypercore-crypto'
import type Hypercore from 'hypercore'
import { RootBuilder, type MerkleNode } from './merkle.js'
import { readBlocks, storedTreeNodes } from './tree-audit.js'

/**
 * The longest b a consistency proof is made or checked for: flat-tree
 * indexes of longer trees pass 2^53, beyond exact JavaScript integers.
 */
export const MAX_CONSISTENCY_LENGTH = 2 ** 52

function assertLengths (a: number, b: number): void {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 1 || b <= a || b > MAX_CONSISTENCY_LENGTH) {
    throw new RangeError(`consistency needs 1 <= a < b <= 2^52 (a = ${a}, b = ${b})`)
  }
}

/** The flat-tree indexes of the consistency proof from length `a` to length `b`, in proof order. */
export function consistencyIndexes (a: number, b: number): number[] {
  assertLengths(a, b)
  const peaks = flat.fullRoots(2 * a)
  const roots = new Set(flat.fullRoots(2 * b))
  const extra: number[] = []
  let node = peaks[peaks.length - 1]!
  while (!roots.has(node)) {
    const sibling = flat.sibling(node)
    if (sibling > node) extra.push(sibling)
    node = flat.parent(node)
  }
  for (const root of roots) if (root > node) extra.push(root)
  return [...peaks, ...extra]
}

export interface ConsistencyHashes {
  /** The tree hash at length a that b's history gives (over the peaks of a). */
  readonly prefix: Uint8Array
  /** The tree hash at length b the nodes hash to (over b's peaks). */
  readonly root: Uint8Array
}

/**
 * Folds the nodes of a consistency proof from `a` to `b`. Throws RangeError
 * unless their indexes are exactly consistencyIndexes(a, b), in order.
 */
export function foldConsistency (a: number, b: number, nodes: readonly MerkleNode[]): ConsistencyHashes {
  const expected = consistencyIndexes(a, b)
  if (nodes.length !== expected.length || nodes.some((n, i) => n.index !== expected[i])) {
    throw new RangeError(`the nodes are not those of a consistency proof from ${a} to ${b}`)
  }
  const builder = new RootBuilder()
  let prefix: Uint8Array | undefined
  for (const node of nodes) {
    builder.pushNode(node)
    if (builder.length === a) prefix = builder.treeHash()
  }
  return { prefix: new Uint8Array(prefix!), root: new Uint8Array(builder.treeHash()) }
}

/**
 * The nodes of a consistency proof from `a` to `b` in this core's own tree
 * (b at most its length), read from storage. A node that is not stored
 * (clear() deletes nodes its neighbours no longer need) is rebuilt from its
 * children, down to leaves known from `erasedLeaves` or hashed from stored
 * blocks. Null when that is impossible (blocks never fetched here).
 */
export async function readConsistencyNodes (
  core: Hypercore, a: number, b: number, erasedLeaves?: ReadonlyMap<number, MerkleNode>
): Promise<MerkleNode[] | null> {
  const indexes = consistencyIndexes(a, b)
  const stored = await storedTreeNodes(core, indexes)
  const nodes: MerkleNode[] = []
  for (const [i, node] of stored.entries()) {
    const found = node ?? await rebuildNode(core, indexes[i]!, erasedLeaves)
    if (found === null) return null
    nodes.push(found)
  }
  return nodes
}

async function rebuildNode (core: Hypercore, index: number, erasedLeaves: ReadonlyMap<number, MerkleNode> | undefined): Promise<MerkleNode | null> {
  const children = flat.children(index)
  if (children === null) {
    const seq = index / 2
    const kept = erasedLeaves?.get(seq)
    if (kept !== undefined) return kept
    const [block] = await readBlocks(core, seq, seq + 1)
    return block === null || block === undefined ? null : { index, size: block.byteLength, hash: new Uint8Array(hcrypto.data(block)) }
  }
  const stored = await storedTreeNodes(core, children)
  const left = stored[0] ?? await rebuildNode(core, children[0], erasedLeaves)
  const right = stored[1] ?? await rebuildNode(core, children[1], erasedLeaves)
  if (left === null || right === null) return null
  return { index, size: left.size + right.size, hash: new Uint8Array(hcrypto.parent(left, right)) }
}
