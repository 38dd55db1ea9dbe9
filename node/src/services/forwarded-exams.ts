/**
 * Exams this node sealed and forwarded to another node, the chain's
 * custodian, under an id the caller chose: kept so that the same write
 * sent again can be resent exactly as it was sealed.
 *
 * Why: a hospital's system that lost the answer to a write (a time limit, a
 * dropped connection) sends it again under the same id, and must then be
 * told it is stored, at its position. The custodian recognises a retry by
 * its content, sealed part included; sealing again would draw a fresh data
 * key, so the ciphertext would differ and the custodian would rightly answer
 * DUPLICATE_ENTRY (another entry holds this id). Resending the exam sealed
 * the first time (re-signed for the position it is sent for: the signature
 * binds the position, not the content) gets the duplicate answer.
 *
 * A retry is the same write only if the caller sent the same exam: its plain
 * part and its sealed part before sealing. Only a digest of those is kept
 * (no sealed content in the clear), beside the sealed entry itself, which
 * is ciphertext. Memory is bounded: the most recent FORWARDED_EXAMS_KEPT,
 * and nothing survives a restart (a retry after one is sealed again and
 * answered DUPLICATE_ENTRY if the first attempt was stored: safe, never a
 * second copy).
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, encodeCanonical, equal, type ExamPlain, type ExamSealed, type UnsignedEntry } from '@healthchain/core'

/** Forwarded exams remembered: a few batches' worth (an exam is 1–2 KB). */
export const FORWARDED_EXAMS_KEPT = 4096

/** What the caller asked to write: the digest a retry must match. */
export function examDigest (exam: { readonly plain: ExamPlain, readonly sealed?: ExamSealed }): Uint8Array {
  return sha256(encodeCanonical({ plain: exam.plain, sealed: exam.sealed ?? {} }))
}

interface Remembered {
  readonly unsigned: UnsignedEntry
  readonly digest: Uint8Array
}

export class ForwardedExams {
  private readonly capacity: number
  /** By chain key and entry id; a Map keeps insertion order, so the first key is the oldest. */
  private readonly kept = new Map<string, Remembered>()

  constructor (capacity = FORWARDED_EXAMS_KEPT) {
    this.capacity = capacity
  }

  get size (): number {
    return this.kept.size
  }

  /** Keeps `unsigned` (sealed, not yet signed) as the exam forwarded to `chainKey` for the caller's exam of `digest`. */
  remember (chainKey: Uint8Array, unsigned: UnsignedEntry, digest: Uint8Array): void {
    const key = keyOf(chainKey, unsigned.id)
    this.kept.delete(key)
    this.kept.set(key, { unsigned, digest })
    if (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value!)
  }

  /** The exam forwarded under `id` to `chainKey`, if the caller's exam then had `digest` too; else undefined. */
  recall (chainKey: Uint8Array, id: Uint8Array, digest: Uint8Array): UnsignedEntry | undefined {
    const kept = this.kept.get(keyOf(chainKey, id))
    return kept !== undefined && equal(kept.digest, digest) ? kept.unsigned : undefined
  }
}

function keyOf (chainKey: Uint8Array, id: Uint8Array): string {
  return `${bytesToHex(chainKey)}:${bytesToHex(id)}`
}
