/**
 * Fork proofs from this node's own copy of a chain. Hypercore verified every
 * tree node and head signature it stored here, so the copy's tree is the
 * custodian's signed history as this node was shown it; a verified head of
 * the same chain that the tree contradicts, at whatever length, is a fork:
 *
 *   peer head shorter   the copy's root at the peer's length differs:
 *                       ConsistencyForkProof { a: peer head, b: own head,
 *                       nodes from the copy's tree }
 *   same length         the roots differ: ForkProof v1
 *   peer head longer    nothing to say here (the peer's tree is needed): a
 *                       fetch brings it, and Hypercore meets the conflict
 *                       (conflict-watch.ts); until then the head waits
 *                       (deferred-heads.ts)
 *
 * The copy's root at a length comes from memory for a writer at its own
 * length, else from stored tree nodes. Every proof made here passes its own
 * codec and verifier (make…), so a damaged store cannot produce one that
 * does not hold.
 */
import { equal, type CryptoProvider } from '@healthchain/core'
import type { UserChain } from '@healthchain/ledger'
import { DeferredHeads } from './deferred-heads.js'
import type { AnyForkProof } from './wire/any-fork-proof.js'
import { makeConsistencyForkProof } from './wire/consistency-fork-proof.js'
import { makeForkProof } from './wire/fork-proof.js'
import { headOf, type SignedHead } from './wire/head.js'

/** The copy's tree hash at `length` (at most its own length), or undefined if its tree nodes for it are not all here. */
async function ownRootAt (chain: UserChain, length: number): Promise<Uint8Array | undefined> {
  const own = chain.writerHead()
  if (own !== null && own.head.length === length) return own.root
  return await chain.treeHashAt(length).catch(() => undefined)
}

/**
 * The proof that `peer` (a verified head of this chain) and this node's copy
 * cannot both be true; undefined when they agree, when the copy is shorter,
 * or when the copy lacks the tree nodes to say.
 */
export async function proveAgainstOwn (chain: UserChain, peer: SignedHead, crypto: CryptoProvider): Promise<AnyForkProof | undefined> {
  if (chain.length === 0 || peer.length > chain.length) return undefined
  const root = await ownRootAt(chain, peer.length)
  if (root === undefined || equal(root, peer.root)) return undefined
  // They disagree: the copy's signed head (it may have grown meanwhile) and, if longer, its consistency nodes.
  const own = await headOf(chain, crypto)
  if (own.length === peer.length) return makeForkProof(own, peer, crypto)
  const nodes = await chain.consistencyNodes(peer.length, own.length)
  return nodes === null ? undefined : makeConsistencyForkProof(peer, own, nodes, crypto)
}

export interface OwnCopyCheckInit {
  /** Records a proof found (a failure here counts as one to compare). */
  readonly onProof: (proof: AnyForkProof) => Promise<void>
  readonly onError: () => void
}

/**
 * Holds heads against this node's own copy of their chain, at any length: a
 * peer's head at once if the copy reaches its length, else (DeferredHeads)
 * once a fetch has brought the copy that far — which is when the copy's own
 * head is observed. The first proof goes to `onProof`; a failure to compare
 * (or to record) goes to `onError`, and the next head due is compared.
 */
export class OwnCopyCheck {
  private readonly deferred = new DeferredHeads()
  private readonly crypto: CryptoProvider
  private readonly on: OwnCopyCheckInit

  constructor (crypto: CryptoProvider, on: OwnCopyCheckInit) {
    this.crypto = crypto
    this.on = on
  }

  /** A head of a chain held here (hex key `keyHex`): a peer's (`fromPeer`), or this node's own after a fetch. */
  async hold (chain: UserChain, keyHex: string, head: SignedHead, fromPeer: boolean): Promise<void> {
    let due: SignedHead[]
    if (!fromPeer) due = this.deferred.take(keyHex, chain.length)
    else if (head.length > chain.length) {
      this.deferred.add(keyHex, head)
      due = []
    } else due = [head]
    for (const peer of due) {
      try {
        const proof = await proveAgainstOwn(chain, peer, this.crypto)
        if (proof !== undefined) return await this.on.onProof(proof)
      } catch {
        this.on.onError()
      }
    }
  }
}
