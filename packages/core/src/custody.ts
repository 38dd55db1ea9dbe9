/**
 * The formats a chain needs to outlive its custodian and its user's key:
 * the `migrate` entry (custody moves to a continuation core) and the `rekey`
 * entry (the user's pre-rotated key comes into force). Both are user entries
 * of the user chain, signed through the entry domain for their slot
 * (sign.ts); this module holds their plain segments and the checks that need
 * more than a schema. Nothing appends them yet: the ledger refuses both
 * types until custody transfer is built.
 *
 * migrate, at position N of the continuation core (signed by the user for
 * the new chain key and N):
 *   { from: old chain key, length: N, fork, prologue: old tree hash at N,
 *     signer: the old custodian's key for that core, headSig: its head
 *     signature at N, to: the new custodian }
 * The head proves the prologue is exactly what the old custodian signed.
 *
 * rekey: { generation, sign, box, next } — the revealed public keys of the
 * generation the previous genesis or rekey committed to (nextKeyDigest), and
 * the commitment to the one after. It is signed by the revealed `sign` key,
 * which an old key's thief never held.
 */
import { z } from 'zod'
import { equal } from './bytes.js'
import { CoreError } from './errors.js'
import { treeHeadProblem } from './hypercore-head.js'
import { isInstitutionId } from './ids.js'
import { nextKeyDigest } from './keys.js'
import { institutionIdSchema, key32Schema, signatureSchema, uintSchema } from './schema.js'
import { describeIssue, summariseIssues } from './zod-issues.js'
import type { CryptoProvider } from './crypto/provider.js'

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
  to: institutionIdSchema
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
export type RekeyPlain = z.infer<typeof rekeyPlainSchema>

/**
 * Checks what a migrate entry's schema cannot: the old head verifies —
 * `signer` owns `from` (a single-signer version-1 core, coreKeyOfSigner) and
 * `headSig` is its signature over treeSignable(from, prologue, length, fork)
 * — and `to` is an institution id. BAD_SIGNATURE (field `plain.signer` or
 * `plain.headSig`) or INVALID_FIELD. Whether `to` is an active examiner, and
 * whether the head matches the old chain, are the ledger's to check.
 */
export function checkMigrate (plain: MigratePlain, crypto: CryptoProvider): void {
  const parsed = migratePlainSchema.safeParse(plain)
  if (!parsed.success) {
    const summary = summariseIssues(parsed.error, ['plain'])
    throw new CoreError('INVALID_FIELD', describeIssue(summary), { field: summary.field })
  }
  if (!isInstitutionId(plain.to)) throw new CoreError('INVALID_FIELD', 'plain.to: expected an institution id', { field: 'plain.to' })
  const head = { key: plain.from, signer: plain.signer, length: plain.length, fork: plain.fork, root: plain.prologue, sig: plain.headSig }
  const problem = treeHeadProblem(head, crypto)
  if (problem === 'signer') throw new CoreError('BAD_SIGNATURE', 'plain.signer: the head\'s signer does not own the old chain key', { field: 'plain.signer' })
  if (problem === 'sig') throw new CoreError('BAD_SIGNATURE', 'plain.headSig: the old custodian\'s head signature does not verify', { field: 'plain.headSig' })
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
