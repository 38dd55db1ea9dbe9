/**
 * ConsistencyForkProof — ForkProof wire version 2: two validly signed heads
 * of one chain at different lengths that cannot both be true, because the
 * longer history gives the shorter length another root than the one the
 * custodian signed for it. It sits beside version 1 (two roots at one
 * length, fork-proof.ts), which it does not replace; both are gossiped,
 * stored and flagged alike (any-fork-proof.ts).
 *
 *   { v: 2, a: SignedHead, b: SignedHead, nodes: [[index, size, hash], ...] }
 *
 *   a      the shorter head, length a
 *   b      the longer head, length b (a < b <= 2^52)
 *   nodes  from b's tree, the Merkle consistency proof from a to b
 *          (packages/ledger/src/consistency.ts): the full roots of length a,
 *          then the right siblings up to b's root above them, then b's
 *          later roots — exactly those flat-tree indexes, in index order.
 *          `size` is the byte length of the blocks under the node, `hash`
 *          its 32-byte hash (hypercore-crypto's leaf and parent hashing).
 *
 * Rules (decode checks all but the last; assertConsistencyForkProof all):
 * - a.key == b.key, else NOT_A_FORK; the fork ids may differ (as in
 *   version 1: chains are never truncated, so a signed truncation that
 *   rewrote history is a fork too);
 * - a.length < b.length <= 2^52, else INVALID_FIELD (`b.length`): heads of
 *   one length make a version 1 proof, and the shorter head comes first, so
 *   a pair of heads has one proof kind and one order;
 * - the node indexes are exactly the consistency proof's for (a, b), else
 *   INVALID_FIELD (`nodes` for a wrong count, `nodes.<i>.0` for the first
 *   wrong index) — with the heads fixed, one proof has one encoding;
 * - folded left to right, the nodes hash to b.root, else BAD_PROOF
 *   (`nodes`): they are not b's tree;
 * - the root they give length a differs from a.root, else NOT_A_FORK: b's
 *   history extends a;
 * - both heads verify (verifyHead), else BAD_SIGNATURE (field `a` or `b`).
 *
 * Nothing new is signed (so no new signing domain): both signatures are the
 * custodian's own head signatures, and b's covers the nodes through its root.
 *
 * Size: at most 103 nodes (popcount(b) + the height of b's root above leaf
 * a-1 - trailing zeros of a, for b <= 2^52); encoded size <= 5,919 bytes;
 * the limit is 6 KiB.
 */
import { z } from 'zod'
import { equal, key32Schema, uintSchema, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { MAX_CONSISTENCY_LENGTH, consistencyIndexes, foldConsistency, type MerkleNode } from '@healthchain/ledger'
import { NetError } from '../errors.js'
import { defineCodec, versionSchemaOf } from './codec.js'
import { assertHead, signedHeadSchema, type SignedHead } from './head.js'

export const CONSISTENCY_FORK_PROOF_VERSION = 2
export const MAX_CONSISTENCY_NODES = 103
export const MAX_CONSISTENCY_FORK_PROOF_BYTES = 6 * 1024

/** One tree node: [flat-tree index, byte size, hash]. */
export const treeNodeSchema = z.tuple([uintSchema, uintSchema, key32Schema])

export const consistencyForkProofSchema = z.strictObject({
  v: versionSchemaOf(CONSISTENCY_FORK_PROOF_VERSION),
  a: signedHeadSchema,
  b: signedHeadSchema,
  nodes: z.array(treeNodeSchema).min(1).max(MAX_CONSISTENCY_NODES)
})

export type ConsistencyForkProof = z.output<typeof consistencyForkProofSchema>
export type TreeNodeTuple = z.output<typeof treeNodeSchema>

/** The proof's nodes as Merkle nodes. */
export function proofNodes (proof: Pick<ConsistencyForkProof, 'nodes'>): MerkleNode[] {
  return proof.nodes.map(([index, size, hash]) => ({ index, size, hash }))
}

function checkConsistencyForkProof (proof: ConsistencyForkProof): void {
  const { a, b, nodes } = proof
  if (!equal(a.key, b.key)) throw new NetError('NOT_A_FORK', 'the heads are of different chains')
  if (a.length >= b.length) {
    throw new NetError('INVALID_FIELD', 'ConsistencyForkProof: b.length must be longer than a.length (heads of one length make a version 1 proof)', { field: 'b.length' })
  }
  if (b.length > MAX_CONSISTENCY_LENGTH) throw new NetError('INVALID_FIELD', 'ConsistencyForkProof: b.length is over 2^52', { field: 'b.length' })
  const expected = consistencyIndexes(a.length, b.length)
  if (nodes.length !== expected.length) {
    throw new NetError('INVALID_FIELD', `ConsistencyForkProof: nodes: ${expected.length} nodes prove length ${a.length} against ${b.length}, not ${nodes.length}`, { field: 'nodes' })
  }
  const wrong = nodes.findIndex(([index], i) => index !== expected[i])
  if (wrong >= 0) throw new NetError('INVALID_FIELD', `ConsistencyForkProof: nodes.${wrong}: expected index ${expected[wrong]!}`, { field: `nodes.${wrong}.0` })
  const { prefix, root } = foldConsistency(a.length, b.length, proofNodes(proof))
  if (!equal(root, b.root)) throw new NetError('BAD_PROOF', 'ConsistencyForkProof: the nodes do not hash to b.root', { field: 'nodes' })
  if (equal(prefix, a.root)) throw new NetError('NOT_A_FORK', 'the longer history extends the shorter head')
}

export const consistencyForkProofCodec = defineCodec({
  name: 'ConsistencyForkProof',
  version: CONSISTENCY_FORK_PROOF_VERSION,
  schema: consistencyForkProofSchema,
  maxBytes: MAX_CONSISTENCY_FORK_PROOF_BYTES,
  check: checkConsistencyForkProof
})

export function encodeConsistencyForkProof (proof: ConsistencyForkProof): Uint8Array {
  return consistencyForkProofCodec.encode(proof)
}

export function decodeConsistencyForkProof (bytes: Uint8Array): ConsistencyForkProof {
  return consistencyForkProofCodec.decode(bytes)
}

/** Throws NOT_A_FORK, INVALID_FIELD, BAD_PROOF or BAD_SIGNATURE unless `proof` proves a fork. */
export function assertConsistencyForkProof (proof: ConsistencyForkProof, crypto: CryptoProvider = sodiumProvider): void {
  consistencyForkProofCodec.parse(proof)
  assertHead(proof.a, crypto, 'a')
  assertHead(proof.b, crypto, 'b')
}

export function verifyConsistencyForkProof (proof: ConsistencyForkProof, crypto: CryptoProvider = sodiumProvider): boolean {
  try {
    assertConsistencyForkProof(proof, crypto)
    return true
  } catch (err) {
    if (err instanceof NetError) return false
    throw err
  }
}

/**
 * The proof that `shorter` and `longer` (verified heads of one chain) fork,
 * given the consistency nodes from `longer`'s tree (ledger's
 * readConsistencyNodes); throws as assertConsistencyForkProof does.
 */
export function makeConsistencyForkProof (
  shorter: SignedHead, longer: SignedHead, nodes: readonly MerkleNode[], crypto: CryptoProvider = sodiumProvider
): ConsistencyForkProof {
  const proof: ConsistencyForkProof = {
    v: CONSISTENCY_FORK_PROOF_VERSION,
    a: shorter,
    b: longer,
    nodes: nodes.map((n): TreeNodeTuple => [n.index, n.size, n.hash])
  }
  assertConsistencyForkProof(proof, crypto)
  return proof
}
