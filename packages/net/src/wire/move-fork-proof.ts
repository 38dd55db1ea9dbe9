/**
 * MoveForkProof, fork proof version 3: a chain that moved to a new custodian
 * (its user's migrate entry closed the old core at N) written on as if it
 * had not.
 *
 *   { v: 3, a: SignedHead, b: SignedHead,
 *     moves: [{ key: bytes32, migrate: bytes }][1..2],
 *     history: [{ seq: uint, entry: bytes }][1..8] }
 *
 * - `a`: the old custodian's head at N, exactly as every migrate in `moves`
 *   carries it (`key` = plain.from, `length` = N, `fork`, `root` =
 *   plain.prologue, `signer`, `sig` = plain.headSig, and `prologue` = the
 *   lineage's last link when the old core was itself a continuation).
 * - `moves`: each the continuation core's key and the encoded migrate entry
 *   the user signed for (that key, N).
 * - `history`: what lets a node holding nothing check the user's signature:
 *   the genesis (seq 0) and every rekey before N, in order, each encoded
 *   with its position; each is checked against the key of the segment it
 *   was written in (the migrate names the segments).
 *
 * Two kinds, told apart by the number of moves:
 * - one move, `b` a head of `a.key` longer than N: the old custodian signed
 *   beyond the point its user moved the chain from. `a.key` is flagged, as
 *   for any fork of its custodian.
 * - two moves, `b` equal to `a`: the user signed two different migrates from
 *   one head (ordered by their encodings); the proof is against the user.
 *
 * Rules beyond the schema (assertMoveForkProof): NOT_A_FORK when the kind's
 * relation does not hold; INVALID_FIELD when a migrate is no migrate or does
 * not carry `a`, or the history is not a genesis then rekeys below N in
 * rising positions; BAD_SIGNATURE when a head, a history entry or a migrate
 * does not verify, or a rekey does not reveal the keys committed to.
 * A migrate written by an institution (a reassignment) is not the user's
 * and does not verify here. Limit 6 KiB, as every fork proof: a chain with
 * a long lineage or many rekeys may have no proof that fits, and is then
 * only refused, not reported.
 */
import { z } from 'zod'
import {
  CoreError, checkMigrate, checkRekey, decodeEntry, equal, key32Schema, segmentsOfMigrate, uintSchema, verifyEntrySignature,
  type CryptoProvider, type Entry, type MigratePlain
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { NetError } from '../errors.js'
import { compareBytes, defineCodec, versionSchemaOf } from './codec.js'
import { assertHead, signedHeadSchema, type SignedHead } from './head.js'

export const MOVE_FORK_PROOF_VERSION = 3
export const MAX_MOVE_FORK_PROOF_BYTES = 6 * 1024
/** Genesis and rekeys carried at most. */
export const MAX_MOVE_HISTORY = 8

const blockSchema = z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.length >= 1 && b.length <= MAX_MOVE_FORK_PROOF_BYTES, 'expected 1 or more bytes')

export const moveForkProofSchema = z.strictObject({
  v: versionSchemaOf(MOVE_FORK_PROOF_VERSION),
  a: signedHeadSchema,
  b: signedHeadSchema,
  moves: z.array(z.strictObject({ key: key32Schema, migrate: blockSchema })).min(1).max(2),
  history: z.array(z.strictObject({ seq: uintSchema, entry: blockSchema })).min(1).max(MAX_MOVE_HISTORY)
})

export type MoveForkProof = z.output<typeof moveForkProofSchema>

function checkShape (proof: MoveForkProof): void {
  if (proof.moves.length === 2 && compareBytes(proof.moves[0]!.migrate, proof.moves[1]!.migrate) >= 0) {
    throw new NetError('INVALID_FIELD', 'MoveForkProof: two moves are ordered by their migrate bytes, and differ', { field: 'moves' })
  }
}

export const moveForkProofCodec = defineCodec({
  name: 'MoveForkProof',
  version: MOVE_FORK_PROOF_VERSION,
  schema: moveForkProofSchema,
  maxBytes: MAX_MOVE_FORK_PROOF_BYTES,
  check: checkShape
})

function decodeAt (bytes: Uint8Array, field: string): Entry {
  try {
    return decodeEntry(bytes)
  } catch (cause) {
    throw new NetError('INVALID_FIELD', `${field}: not an entry`, { field, cause })
  }
}

/** The head at N a migrate carries, as a SignedHead. */
export function headOfMigrate (plain: MigratePlain): SignedHead {
  const last = plain.lineage[plain.lineage.length - 1]
  const head: SignedHead = { v: 1, key: plain.from, signer: plain.signer, length: plain.length, fork: plain.fork, root: plain.prologue, sig: plain.headSig }
  if (last !== undefined) head.prologue = { hash: last.prologue, length: last.length }
  return head
}

function sameHead (x: SignedHead, y: SignedHead): boolean {
  return equal(x.key, y.key) && equal(x.signer, y.signer) && x.length === y.length && x.fork === y.fork && equal(x.root, y.root) &&
    equal(x.sig, y.sig) && (x.prologue === undefined) === (y.prologue === undefined) &&
    (x.prologue === undefined || (equal(x.prologue.hash, y.prologue!.hash) && x.prologue.length === y.prologue!.length))
}

/** The user's signing key in force at N, from the history, checked entry by entry against the segments `plain` names. */
function keyInForce (proof: MoveForkProof, plain: MigratePlain, continuation: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const segments = segmentsOfMigrate(plain, continuation)
  const keyAt = (seq: number): Uint8Array => [...segments].reverse().find((s) => seq >= s.start)!.key
  let sign: Uint8Array | undefined
  let next: Uint8Array | undefined
  let generation = 0
  let previous = -1
  for (const [i, { seq, entry: bytes }] of proof.history.entries()) {
    const field = `history.${i}`
    if (seq <= previous || seq >= plain.length || (i === 0) !== (seq === 0)) {
      throw new NetError('INVALID_FIELD', `${field}.seq: the genesis at 0, then rekeys below N in rising positions`, { field: `${field}.seq` })
    }
    previous = seq
    const entry = decodeAt(bytes, `${field}.entry`)
    if (i === 0) {
      if (entry.type !== 'genesis') throw new NetError('INVALID_FIELD', `${field}: the history starts with the genesis`, { field })
      sign = entry.plain.user.sign
      next = entry.plain.next
    } else {
      if (entry.type !== 'rekey') throw new NetError('INVALID_FIELD', `${field}: after the genesis, only rekeys`, { field })
      if (next === undefined || entry.plain.generation !== generation + 1) {
        throw new NetError('INVALID_FIELD', `${field}: not the next generation the chain committed to`, { field })
      }
      try {
        checkRekey(next, entry.plain)
      } catch (err) {
        if (err instanceof CoreError) throw new NetError('BAD_SIGNATURE', `${field}: ${err.message}`, { field })
        throw err
      }
      sign = entry.plain.sign
      next = entry.plain.next
      generation++
    }
    if (!verifyEntrySignature(entry, { chainKey: keyAt(seq), seq }, sign!, crypto)) {
      throw new NetError('BAD_SIGNATURE', `${field}: not signed for its segment's key and position`, { field })
    }
  }
  return sign!
}

/** Throws unless `proof` proves that a chain's move was written against (see the module comment for the codes). */
export function assertMoveForkProof (proof: MoveForkProof, crypto: CryptoProvider = sodiumProvider): void {
  moveForkProofCodec.parse(proof)
  assertHead(proof.a, crypto, 'a')
  assertHead(proof.b, crypto, 'b')
  if (proof.moves.length === 1) {
    if (!equal(proof.a.key, proof.b.key) || proof.b.length <= proof.a.length) {
      throw new NetError('NOT_A_FORK', 'b is no head of the old core beyond where its user moved the chain from')
    }
  } else if (!sameHead(proof.a, proof.b)) {
    throw new NetError('NOT_A_FORK', 'two migrates are from one head: b must be a')
  }
  let sign: Uint8Array | undefined
  for (const [i, move] of proof.moves.entries()) {
    const field = `moves.${i}.migrate`
    const entry = decodeAt(move.migrate, field)
    if (entry.type !== 'migrate') throw new NetError('INVALID_FIELD', `${field}: not a migrate`, { field })
    try {
      checkMigrate(entry.plain, crypto)
    } catch (err) {
      if (err instanceof CoreError) throw new NetError(err.code === 'BAD_SIGNATURE' ? 'BAD_SIGNATURE' : 'INVALID_FIELD', `${field}: ${err.message}`, { field })
      throw err
    }
    if (!sameHead(headOfMigrate(entry.plain), proof.a)) throw new NetError('INVALID_FIELD', `${field}: does not carry head a`, { field })
    // Every migrate names the same segments below N (it carries the same head), so the key in force is read once.
    sign ??= keyInForce(proof, entry.plain, move.key, crypto)
    if (!verifyEntrySignature(entry, { chainKey: move.key, seq: entry.plain.length }, sign, crypto)) {
      throw new NetError('BAD_SIGNATURE', `${field}: not signed by the user's key in force for (its key, N)`, { field })
    }
  }
}
