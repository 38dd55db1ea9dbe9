/**
 * The formats a chain needs to outlive its custodian and its user's key:
 * the `migrate` entry (custody moves to a continuation core) and the `rekey`
 * entry (the user's pre-rotated key comes into force). Both are user entries
 * of the user chain, signed through the entry domain for their slot
 * (sign.ts); this module holds their plain segments and the checks that need
 * more than a schema. What a chain makes of them (where a migrate may
 * stand, whose keys are in force) is the ledger's chain rules'.
 *
 * migrate, at position N of the continuation core (signed by the user for
 * the new chain key and N):
 *   { from: old chain key, length: N, fork, prologue: old tree hash at N,
 *     signer: the old custodian's key for that core, headSig: its head
 *     signature at N, to: the new custodian,
 *     lineage: [{ key, length, prologue }] the cores before `from`, oldest
 *     first ([] on a first migration): where the next core took over, and
 *     the tree hash there (the next core's manifest prologue) }
 * The head proves the prologue is exactly what the old custodian signed;
 * the lineage's last entry gives `from`'s own manifest prologue, so `from`
 * is recomputed from `signer` for a first core and a continuation alike. The
 * chain's segments are the lineage's cores, then `from` up to N, then the
 * continuation: whoever reads the latest migrate knows every key the chain
 * was signed under.
 *
 * rekey: { generation, sign, box, next } — the revealed public keys of the
 * generation the previous genesis or rekey committed to (nextKeyDigest), and
 * the commitment to the one after. It is signed by the revealed `sign` key,
 * which an old key's thief never held.
 */
import { z } from 'zod'
import { equal } from './bytes.js'
import { CoreError } from './errors.js'
import { coreKeyOfManifest, treeSignable } from './hypercore-head.js'
import { isInstitutionId } from './ids.js'
import { nextKeyDigest } from './keys.js'
import { institutionIdSchema, key32Schema, signatureSchema, uintSchema } from './schema.js'
import { describeIssue, summariseIssues } from './zod-issues.js'
import type { CryptoProvider } from './crypto/provider.js'

/** How many cores a chain's history may span before its latest: a bound on what every migrate carries. */
export const MAX_LINEAGE = 32

export const lineageLinkSchema = z.strictObject({
  /** A core of the chain's history. */
  key: key32Schema,
  /** Where the next core took over (its manifest prologue's length). */
  length: uintSchema.min(1),
  /** This core's tree hash at `length` (the next core's manifest prologue hash). */
  prologue: key32Schema
})

export const migratePlainSchema = z.strictObject({
  /** The old chain's Hypercore key. */
  from: key32Schema,
  /** N: the old chain's length the continuation copies, and this entry's position. */
  length: uintSchema.min(1),
  fork: uintSchema,
  /** The old core's tree hash at N: the continuation manifest's prologue hash. */
  prologue: key32Schema,
  /** The old custodian's signing key for the old core (its manifest's one signer). */
  signer: key32Schema,
  /** The old custodian's Hypercore signature of the head (from, prologue, N, fork). */
  headSig: signatureSchema,
  /** The new custodian. */
  to: institutionIdSchema,
  /** The cores before `from`, oldest first; [] when `from` is the chain's first core. */
  lineage: z.array(lineageLinkSchema).max(MAX_LINEAGE)
})

export const rekeyPlainSchema = z.strictObject({
  /** The generation revealed here (1 for the first rotation). */
  generation: uintSchema.min(1),
  /** Its Ed25519 public key: signs this entry and the user's entries after it. */
  sign: key32Schema,
  /** Its X25519 public key. */
  box: key32Schema,
  /** nextKeyDigest of generation + 1's keys. */
  next: key32Schema
})

export type MigratePlain = z.infer<typeof migratePlainSchema>
export type LineageLink = z.infer<typeof lineageLinkSchema>

/** One core of a chain's history: positions [start, end) were written in `key` (end undefined: the latest core). */
export interface ChainSegment {
  readonly key: Uint8Array
  readonly start: number
  readonly end: number | undefined
}

/** The segments a migrate entry names, oldest first; the last is the continuation core (`current`) from `plain.length` on. */
export function segmentsOfMigrate (plain: MigratePlain, current: Uint8Array): ChainSegment[] {
  const segments: ChainSegment[] = []
  let start = 0
  for (const link of [...plain.lineage, { key: plain.from, length: plain.length }]) {
    segments.push({ key: link.key, start, end: link.length })
    start = link.length
  }
  segments.push({ key: current, start, end: undefined })
  return segments
}

/** The manifest prologue of `from` a migrate implies: the lineage's last link, or none for a chain's first core. */
export function prologueOfFrom (plain: MigratePlain): { hash: Uint8Array, length: number } | undefined {
  const last = plain.lineage[plain.lineage.length - 1]
  return last === undefined ? undefined : { hash: last.prologue, length: last.length }
}
export type RekeyPlain = z.infer<typeof rekeyPlainSchema>

/**
 * Checks what a migrate entry's schema cannot: the lineage's lengths rise
 * and end below N (INVALID_FIELD, field `plain.lineage`); the old head
 * verifies — `signer` owns `from` (the single-signer version-1 manifest,
 * with the lineage's last link as its prologue when there is one) and
 * `headSig` is its signature over treeSignable(from, prologue, length, fork)
 * — and `to` is an institution id. BAD_SIGNATURE (field `plain.signer` or
 * `plain.headSig`) or INVALID_FIELD. Whether `to` is an active examiner, and
 * whether the head and lineage match the chain, are the ledger's to check.
 */
export function checkMigrate (plain: MigratePlain, crypto: CryptoProvider): void {
  const parsed = migratePlainSchema.safeParse(plain)
  if (!parsed.success) {
    const summary = summariseIssues(parsed.error, ['plain'])
    throw new CoreError('INVALID_FIELD', describeIssue(summary), { field: summary.field })
  }
  if (!isInstitutionId(plain.to)) throw new CoreError('INVALID_FIELD', 'plain.to: expected an institution id', { field: 'plain.to' })
  let previous = 0
  for (const [i, link] of [...plain.lineage, { length: plain.length }].entries()) {
    if (link.length <= previous) {
      const field = i < plain.lineage.length ? `plain.lineage.${i}.length` : 'plain.length'
      throw new CoreError('INVALID_FIELD', `${field}: a chain's cores take over at rising lengths`, { field })
    }
    previous = link.length
  }
  const prologue = prologueOfFrom(plain)
  if (!equal(coreKeyOfManifest(prologue === undefined ? { signer: plain.signer } : { signer: plain.signer, prologue }), plain.from)) {
    const why = prologue === undefined ? '' : ' with the lineage\'s last prologue'
    throw new CoreError('BAD_SIGNATURE', `plain.signer: the head's signer${why} does not own the old chain key`, { field: 'plain.signer' })
  }
  // The schema fixed every length, so neither treeSignable nor verify can throw here.
  if (!crypto.verify(treeSignable(plain.from, plain.prologue, plain.length, plain.fork), plain.headSig, plain.signer)) throw new CoreError('BAD_SIGNATURE', 'plain.headSig: the old custodian\'s head signature does not verify', { field: 'plain.headSig' })
}

/**
 * Checks that a rekey reveals the keys committed to before it: `previous`
 * is the `next` of the genesis or of the latest rekey. BAD_KEY (field
 * `plain.sign`) if they do not hash to it. The entry's signature must be
 * checked under `plain.sign` (verifyEntrySignature), not the old key.
 */
export function checkRekey (previous: Uint8Array, plain: RekeyPlain): void {
  if (!equal(nextKeyDigest(plain), previous)) {
    throw new CoreError('BAD_KEY', 'plain.sign: the revealed keys are not the ones the chain committed to', { field: 'plain.sign' })
  }
}
