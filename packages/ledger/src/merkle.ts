/**
 * Rebuilds a Hypercore's Merkle roots left to right, in O(log n) memory:
 * each node (a leaf, or the root of a full subtree) is pushed where the
 * nodes before it end, and two adjacent siblings on the stack merge into
 * their parent. What remains are the full roots, whose hash the custodian
 * signed (with hypercore's own hashing, hypercore-crypto). Verification
 * pushes leaves; a consistency proof (consistency.ts) pushes subtrees.
 */
import flat from 'flat-tree'
import hcrypto from 'hypercore-crypto'

export interface MerkleNode {
  readonly index: number
  readonly size: number
  readonly hash: Uint8Array
}

export class RootBuilder {
  private readonly stack: MerkleNode[] = []
  private leaves = 0

  /** Number of leaves covered by the nodes pushed. */
  get length (): number { return this.leaves }

  /** The full roots of the leaves covered so far, left to right. */
  get roots (): readonly MerkleNode[] { return [...this.stack] }

  /** Pushes the leaf for the block at the next position. */
  pushBlock (block: Uint8Array): void {
    this.pushLeaf({ index: 2 * this.leaves, size: block.byteLength, hash: hcrypto.data(block) })
  }

  /** Pushes a leaf node known from storage (for a block whose data was cleared). */
  pushLeaf (node: MerkleNode): void {
    if (node.index !== 2 * this.leaves) throw new Error(`RootBuilder: leaf ${node.index / 2} pushed at position ${this.leaves}`)
    this.pushNode(node)
  }

  /** Pushes a node whose leftmost leaf is the next position: a leaf, or a full subtree given by its root. */
  pushNode (node: MerkleNode): void {
    if (flat.leftSpan(node.index) !== 2 * this.leaves) throw new Error(`RootBuilder: node ${node.index} does not start at position ${this.leaves}`)
    this.leaves = flat.rightSpan(node.index) / 2 + 1
    this.stack.push(node)
    while (this.stack.length >= 2) {
      const right = this.stack[this.stack.length - 1]!
      const left = this.stack[this.stack.length - 2]!
      if (flat.sibling(right.index) !== left.index) break
      this.stack.length -= 2
      this.stack.push({ index: flat.parent(right.index), size: left.size + right.size, hash: hcrypto.parent(left, right) })
    }
  }

  /** The tree hash over the current roots (what hypercore signs with length and fork). */
  treeHash (): Uint8Array {
    return hcrypto.tree(this.stack)
  }
}
