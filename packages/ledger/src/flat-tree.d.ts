// The subset of flat-tree (CommonJS, untyped) used to rebuild Hypercore's Merkle roots and consistency proofs.
declare module 'flat-tree' {
  /** The flat-tree index of the sibling of `index`. */
  export function sibling (index: number): number
  /** The flat-tree index of the parent of `index`. */
  export function parent (index: number): number
  /** Indexes of the full roots of a tree spanning leaves [0, index / 2). */
  export function fullRoots (index: number): number[]
  /** The two children of `index`, or null for a leaf. */
  export function children (index: number): [number, number] | null
  /** The index of the leftmost leaf under `index` (a leaf is its own span). */
  export function leftSpan (index: number): number
  /** The index of the rightmost leaf under `index`. */
  export function rightSpan (index: number): number
  const flat: {
    sibling: typeof sibling
    parent: typeof parent
    fullRoots: typeof fullRoots
    children: typeof children
    leftSpan: typeof leftSpan
    rightSpan: typeof rightSpan
  }
  export default flat
}
