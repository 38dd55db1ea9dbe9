/**
 * Making a fork proof of version 3 (wire/move-fork-proof.ts) from what this
 * node holds, and telling who it flags: a head of a core the user's chain
 * moved away from, beyond N, against the migrate the continuation holds at N.
 */
import { encodeEntry, equal, type Entry, type InstitutionId } from '@healthchain/core'
import type { ClosedChain, Ledger, UserChain } from '@healthchain/ledger'
import type { SignedHead } from './wire/head.js'
import { compareBytes } from './wire/codec.js'
import { MAX_MOVE_HISTORY, assertMoveForkProof, headOfMigrate, type MoveForkProof } from './wire/move-fork-proof.js'

/** Chains longer than this below N are not scanned for their rekeys: no proof is made for them (they are still refused). */
const MAX_SCANNED = 100_000

/** The genesis and rekeys below N, with their positions; undefined when there are more than a proof carries, or one is not held. */
async function historyOf (chain: UserChain, N: number): Promise<MoveForkProof['history'] | undefined> {
  if (N > MAX_SCANNED) return undefined
  const history: Array<{ seq: number, entry: Uint8Array }> = []
  for (let seq = 0; seq < N; seq++) {
    const entry = await chain.get(seq)
    if (entry === null) {
      if (seq === 0) return undefined
      continue // erased: a genesis and a rekey are never erased (the ledger's erasure rules), so nothing is lost
    }
    if (entry.type !== 'genesis' && entry.type !== 'rekey') continue
    if (history.length >= MAX_MOVE_HISTORY) return undefined
    history.push({ seq, entry: encodeEntry(entry) })
  }
  return history
}

/**
 * The proof that the old custodian wrote on the core `closed` says the
 * chain moved from, or undefined when this node cannot make one (the
 * continuation here is not the one the core was closed for, a history that
 * does not fit, a head that proves nothing).
 */
export async function makeClosedCoreProof (ledger: Ledger, head: SignedHead, closed: ClosedChain): Promise<MoveForkProof | undefined> {
  try {
    const chain = await ledger.chain(closed.user)
    if (!equal(chain.key, closed.successor)) return undefined
    const migrate = await chain.get(closed.length)
    if (migrate === null || migrate.type !== 'migrate') return undefined
    const history = await historyOf(chain, closed.length)
    if (history === undefined) return undefined
    const proof: MoveForkProof = {
      v: 3, a: headOfMigrate(migrate.plain), b: head, moves: [{ key: new Uint8Array(chain.key), migrate: encodeEntry(migrate) }], history
    }
    assertMoveForkProof(proof, ledger.crypto)
    return proof
  } catch {
    return undefined
  }
}

/**
 * The proof that the user signed two migrates from the head `closed` says
 * the chain moved from here: the one the continuation here holds at N and
 * `migrate`, of the continuation `key`. Undefined when this node cannot
 * make one (as makeClosedCoreProof), or the two are the same entry.
 */
export async function makeTwoMovesProof (ledger: Ledger, closed: ClosedChain, key: Uint8Array, migrate: Entry): Promise<MoveForkProof | undefined> {
  try {
    const chain = await ledger.chain(closed.user)
    if (!equal(chain.key, closed.successor) || migrate.type !== 'migrate') return undefined
    const first = await chain.get(closed.length)
    if (first === null || first.type !== 'migrate') return undefined
    const history = await historyOf(chain, closed.length)
    if (history === undefined) return undefined
    const moves = [{ key: new Uint8Array(chain.key), migrate: encodeEntry(first) }, { key: new Uint8Array(key), migrate: encodeEntry(migrate) }]
    moves.sort((x, y) => compareBytes(x.migrate, y.migrate))
    const a = headOfMigrate(first.plain)
    const proof: MoveForkProof = { v: 3, a, b: a, moves, history }
    assertMoveForkProof(proof, ledger.crypto)
    return proof
  } catch {
    return undefined
  }
}

/**
 * Who a version 3 proof flags, when this node holds the chain: the
 * institution that held the old core (the custodian before the move: the
 * genesis's, or the `to` of the migrate that opened the old core); none for
 * two migrates, which are the user's doing.
 */
export async function flaggedByMoveProof (ledger: Ledger, proof: MoveForkProof): Promise<InstitutionId | undefined> {
  if (proof.moves.length !== 1) return undefined
  const user = ledger.userOfChain(proof.a.key)
  if (user === undefined) return undefined
  const chain = await ledger.chain(user)
  const opened = proof.a.prologue?.length ?? 0
  const entry: Entry | null = await chain.get(opened)
  if (entry?.type === 'genesis') return entry.plain.custodian as InstitutionId
  if (entry?.type === 'migrate') return entry.plain.to as InstitutionId
  return undefined
}
