/**
 * Exams this node sealed to forward to another node, the chain's custodian,
 * under an id the caller chose: kept so that the same write sent again
 * while its outcome is not known here is sent exactly as it was sealed.
 *
 * Why: a hospital's system that lost the answer to a write (a time limit, a
 * dropped connection) sends it again under the same id, and must then be
 * told it is stored, at its position. The custodian recognises a retry by
 * its content, sealed part included; sealing again would draw a fresh data
 * key, so the ciphertext would differ and the custodian would rightly answer
 * DUPLICATE_ENTRY (another entry holds this id). Sending the exam sealed the
 * first time (re-signed for the position it is sent for: the signature binds
 * the position, not the content) gets the duplicate answer. Once this node
 * holds the first attempt verified in its copy of the chain, it answers a
 * retry from there (services/chains.ts); this memory covers the time before.
 *
 *   sealedFor ─ nothing kept for (chain, id) ──► seal, keep the promise
 *             ─ the same exam kept (digest)  ──► the kept sealed exam (also
 *               while it is still being sealed: two sends of one exam that
 *               overlap share it)
 *             ─ another exam kept            ──► seal, keep nothing (the
 *               first is not replaced: its retry must still find it)
 *   forget    ─ the custodian refused it, or it is no longer signable: the
 *               next send seals again, for the chain as it is then
 *
 * A retry is the same write only if the caller sent the same exam: its plain
 * part and its sealed part before sealing. Only a digest of those is kept
 * (no sealed content in the clear), beside the sealed entry, which is
 * ciphertext. Memory is bounded by count and by the kept entries' encoded
 * bytes, oldest first; nothing survives a restart.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, encodeCanonical, encodeUnsignedEntry, equal, type ExamPlain, type ExamSealed, type UnsignedEntry } from '@healthchain/core'

/** Forwarded exams kept, at most. */
export const FORWARDED_EXAMS_KEPT = 4096
/** Their encoded bytes kept, at most (an exam is 1–2 KB; the largest the API takes, about 90 KB). */
export const FORWARDED_EXAM_BYTES_KEPT = 8 * 1024 * 1024

/** What the caller asked to write: the digest a retry must match. */
export function examDigest (exam: { readonly plain: ExamPlain, readonly sealed?: ExamSealed }): Uint8Array {
  return sha256(encodeCanonical({ plain: exam.plain, sealed: exam.sealed ?? {} }))
}

interface Kept {
  readonly digest: Uint8Array
  readonly sealed: Promise<UnsignedEntry>
  /** Once sealed: the exam, and its encoded size (0 before). */
  value?: UnsignedEntry
  bytes: number
}

export interface ForwardedExamsLimits {
  readonly count?: number
  readonly bytes?: number
}

export class ForwardedExams {
  private readonly maxCount: number
  private readonly maxBytes: number
  /** By chain key and entry id; a Map keeps insertion order, so the first key is the oldest. */
  private readonly kept = new Map<string, Kept>()
  private bytes = 0

  constructor (limits: ForwardedExamsLimits = {}) {
    this.maxCount = limits.count ?? FORWARDED_EXAMS_KEPT
    this.maxBytes = limits.bytes ?? FORWARDED_EXAM_BYTES_KEPT
  }

  get size (): number { return this.kept.size }

  /** Encoded bytes of the exams kept. */
  get keptBytes (): number { return this.bytes }

  /** The exam sealed for the caller's exam of `digest` under `id`: the one kept for it, else `seal()`'s (kept if nothing else is). */
  async sealedFor (chainKey: Uint8Array, id: Uint8Array, digest: Uint8Array, seal: () => Promise<UnsignedEntry>): Promise<UnsignedEntry> {
    const key = keyOf(chainKey, id)
    const kept = this.kept.get(key)
    if (kept !== undefined) return equal(kept.digest, digest) ? await kept.sealed : await seal()
    const entry: Kept = { digest, sealed: seal(), bytes: 0 }
    this.kept.set(key, entry)
    try {
      const unsigned = await entry.sealed
      if (this.kept.get(key) === entry) {
        entry.value = unsigned
        entry.bytes = encodeUnsignedEntry(unsigned).byteLength
        this.bytes += entry.bytes
        this.trim()
      }
      return unsigned
    } catch (err) {
      this.drop(key, entry)
      throw err
    }
  }

  /** Lets `unsigned` go (if it is what is kept under its id): the next send of that exam is sealed again. */
  forget (chainKey: Uint8Array, unsigned: UnsignedEntry): void {
    const key = keyOf(chainKey, unsigned.id)
    const kept = this.kept.get(key)
    if (kept?.value === unsigned) this.drop(key, kept)
  }

  private drop (key: string, entry: Kept): void {
    if (this.kept.get(key) !== entry) return
    this.kept.delete(key)
    this.bytes -= entry.bytes
  }

  /** Oldest first, down to both bounds; an exam still being sealed is kept (it is not counted in bytes yet). */
  private trim (): void {
    for (const [key, entry] of this.kept) {
      if (this.kept.size <= this.maxCount && this.bytes <= this.maxBytes) return
      if (entry.value !== undefined) this.drop(key, entry)
    }
  }
}

function keyOf (chainKey: Uint8Array, id: Uint8Array): string {
  return `${bytesToHex(chainKey)}:${bytesToHex(id)}`
}
