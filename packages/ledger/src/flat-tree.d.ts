// The subset of flat-tree (CommonJS, untyped) used to rebuild Hypercore's Merkle roots.
declare module 'flat-tree' {
  /** The flat-tree index of the sibling of `index`. */
  export function sibling (index: number): number
  /** The flat-tree index of the parent of `index`. */
  export function parent (index: number): number
  /** Indexes of the full roots of a tree spanning leaves [0, index / 2). */
  export function fullRoots (index: number): number[]
  const flat: { sibling: typeof sibling, parent: typeof parent, fullRoots: typeof fullRoots }
  export default flat
}
