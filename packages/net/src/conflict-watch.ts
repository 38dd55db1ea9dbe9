/**
 * DEV DOCS — Hypercore's `conflict` event, turned into fork proofs.
 *
 * When a peer's signed head conflicts with a core's own tree (its roots at
 * some length differ from the local ones, and its signature verifies),
 * hypercore marks the core frozen on disk, emits `conflict` on the sessions
 * listening, and closes every session of the core. It tells nobody else:
 * left alone, the node keeps a frozen chain and no fork flag.
 *
 * The watch listens on every chain the ledger opens (Ledger.onChainOpened,
 * the chains open when it starts included). On `conflict` it takes, at once
 * — hypercore closes the core right after — what the peer sent (its full
 * roots at the length u it was asked about, the "additional" nodes up to
 * the length R it signed, and its head signature; the chain key and signer
 * are the core's own, so the peer's head is rebuilt whole) and this node's
 * own head (length L >= u, its root from the roots hypercore keeps in
 * memory). Then:
 *
 *   R == L       two roots at one length: ForkProof v1
 *   R > L == u   the peer's nodes are the consistency proof from L to R:
 *                ConsistencyForkProof { a: own head, b: peer's head }
 *   R == u < L   the peer's head is the shorter one: once hypercore has
 *                closed the core, a session is opened on it again (frozen,
 *                still readable) and the consistency nodes from R to L are
 *                read from this node's tree: { a: peer's head, b: own head }
 *   otherwise    the peer's length moved between question and answer: no
 *                proof from this event (`unproven`)
 *
 * A proof goes to `onProof` (HeadsService: stored, gossiped, the chain
 * flagged); a head or nodes that do not verify make no proof (`unproven`).
 * A core hypercore opened only to serve a peer is not watched: the peer
 * that met the conflict was fetching, so its ledger held the chain open and
 * its watch proves the fork, which reaches this node by gossip or
 * forks-sync.
 */
import { equal, type CryptoProvider, type UserId } from '@healthchain/core'
import {
  RootBuilder, conflictingUpgrade, readConsistencyNodes, type ConflictingUpgrade, type Ledger, type MerkleNode,
  type UserChain
} from '@healthchain/ledger'
import type { AnyForkProof } from './wire/any-fork-proof.js'
import { makeConsistencyForkProof } from './wire/consistency-fork-proof.js'
import { makeForkProof } from './wire/fork-proof.js'
import type { SignedHead } from './wire/head.js'

export interface ConflictWatchComponents {
  readonly ledger: Ledger
}

export interface ConflictWatchInit {
  /** Receives each proof made from a conflict (already verified). */
  readonly onProof: (proof: AnyForkProof) => Promise<void>
}

export interface ConflictStats {
  /** `conflict` events seen, proofs made from them, and events no proof could be made from. */
  seen: number
  proven: number
  unproven: number
}

/** What one event leaves to work with once hypercore has closed the core. */
interface Conflict {
  readonly chain: UserChain
  readonly own: SignedHead
  readonly peer: ConflictingUpgrade
}

export class ConflictWatch {
  private readonly ledger: Ledger
  private readonly crypto: CryptoProvider
  private readonly onProof: ConflictWatchInit['onProof']
  private readonly watched = new WeakSet<UserChain>()
  private readonly pending = new Set<Promise<void>>()
  private unsubscribe: (() => void) | undefined
  private stopped = false
  readonly stats: ConflictStats = { seen: 0, proven: 0, unproven: 0 }

  constructor (components: ConflictWatchComponents, init: ConflictWatchInit) {
    this.ledger = components.ledger
    this.crypto = components.ledger.crypto
    this.onProof = init.onProof
  }

  start (): void {
    this.unsubscribe ??= this.ledger.onChainOpened((_user: UserId, chain) => { this.watch(chain) }, { alreadyOpen: true })
  }

  private watch (chain: UserChain): void {
    if (this.watched.has(chain)) return
    this.watched.add(chain)
    chain.onConflict((proof) => { this.onConflict(chain, proof) })
  }

  /** Runs inside hypercore's emit, before it closes the core: take what is needed now, work later. */
  private onConflict (chain: UserChain, proof: unknown): void {
    if (this.stopped) return
    this.stats.seen++
    const peer = conflictingUpgrade(proof)
    const inMemory = chain.headInMemory()
    if (peer === null || inMemory === null) {
      this.stats.unproven++
      return
    }
    const work = this.prove({ chain, own: { v: 1, ...inMemory.head, root: inMemory.root }, peer }).then(async (made) => {
      if (made === undefined) {
        this.stats.unproven++
        return
      }
      this.stats.proven++
      await this.onProof(made)
    }, () => { this.stats.unproven++ }).catch(() => {})
    this.pending.add(work)
    void work.finally(() => this.pending.delete(work))
  }

  private async prove ({ chain, own, peer }: Conflict): Promise<AnyForkProof | undefined> {
    const grown = peerHead(own, peer)
    if (grown === undefined) return undefined
    const { head, nodes } = grown
    if (head.length === own.length) return equal(head.root, own.root) ? undefined : makeForkProof(own, head, this.crypto)
    if (head.length > own.length) return peer.length === own.length ? makeConsistencyForkProof(own, head, nodes, this.crypto) : undefined
    if (peer.length !== head.length) return undefined
    const ownNodes = await this.readOwnNodes(chain, head.length, own.length)
    return ownNodes === null ? undefined : makeConsistencyForkProof(head, own, ownNodes, this.crypto)
  }

  /** Consistency nodes from this node's tree, on a session opened once hypercore has closed the chain's. */
  private async readOwnNodes (chain: UserChain, from: number, to: number): Promise<MerkleNode[] | null> {
    // Hypercore started closing every session of the core as the event ended: a new session comes after.
    await chain.closingDone()
    const core = this.ledger.coreSession(chain.key)
    try {
      await core.ready()
      return await readConsistencyNodes(core, from, to, chain.erasedLeaves)
    } finally {
      await core.close().catch(() => {})
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    await Promise.allSettled([...this.pending])
  }
}

/**
 * The peer's signed head rebuilt from what it sent — the chain key and
 * signer are the core's own, the fork id and signature the peer's; the
 * signature checks them all — with its nodes in proof order; undefined if
 * the nodes do not line up.
 */
function peerHead (own: SignedHead, peer: ConflictingUpgrade): { head: SignedHead, nodes: MerkleNode[] } | undefined {
  const nodes = [...peer.roots, ...peer.additional]
  const builder = new RootBuilder()
  try {
    for (const node of nodes) builder.pushNode(node)
  } catch {
    return undefined
  }
  if (builder.length < peer.length) return undefined
  const root = new Uint8Array(builder.treeHash())
  const head: SignedHead = { v: 1, key: own.key, signer: own.signer, length: builder.length, fork: peer.fork, root, sig: peer.signature }
  if (own.prologue !== undefined) head.prologue = own.prologue
  return { head, nodes }
}
