/**
 * SignedHead, wire version 1: a custodian's Hypercore head signature for one
 * chain, carried so that anyone can check it without the chain.
 *
 *   { v: 1, key: bytes32, signer: bytes32, length: uint >= 1, fork: uint,
 *     root: bytes32, sig: bytes64, prologue?: { hash: bytes32, length: uint >= 1 } }
 *
 * - `key`: the chain's Hypercore key; `signer`: the public key of the core's
 *   one manifest signer (the custodian's key pair for this chain).
 * - `root`: Hypercore's tree hash at `length` (BLAKE2b over the Merkle roots).
 * - `sig`: the raw Ed25519 signature Hypercore stores for that head, over
 *   caps.treeSignable(key, root, length, fork) (hypercore-head.ts).
 *
 * - `prologue`: only in a head of a continuation core (a chain that moved
 *   to a new custodian): the core's manifest prologue, without which nobody
 *   can tell that the signer owns the key. A first core's head has none, so
 *   its encoding is what it always was; a node of an older build refuses a
 *   continuation's head (unknown field), which it could not follow anyway.
 *
 * A head verifies iff the key of the single-signer version-1 manifest of
 * `signer` (with `prologue` when present: coreKeyOfManifest) is `key` and
 * the signature verifies under libsodium's rule. Encoded size ≤ 222 bytes
 * without a prologue, ≤ 287 with one; the limit is 320.
 */
import { z } from 'zod'
import { coreKeyOfManifest, equal, key32Schema, signatureSchema, uintSchema, type CryptoProvider } from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import type Hypercore from 'hypercore'
import { NetError } from '../errors.js'
import { defineCodec, versionSchema } from './codec.js'
import { coreKeyOfSigner, storedHead, storedTreeHash, treeSignable, writerHead, type StoredHead } from './hypercore-head.js'

export const MAX_SIGNED_HEAD_BYTES = 320

export const signedHeadSchema = z.strictObject({
  v: versionSchema,
  key: key32Schema,
  signer: key32Schema,
  length: uintSchema.min(1),
  fork: uintSchema,
  root: key32Schema,
  sig: signatureSchema,
  prologue: z.strictObject({ hash: key32Schema, length: uintSchema.min(1) }).optional()
})

export type SignedHead = z.output<typeof signedHeadSchema>

export const signedHeadCodec = defineCodec({ name: 'SignedHead', schema: signedHeadSchema, maxBytes: MAX_SIGNED_HEAD_BYTES })

export function encodeSignedHead (head: SignedHead): Uint8Array {
  return signedHeadCodec.encode(head)
}

export function decodeSignedHead (bytes: Uint8Array): SignedHead {
  return signedHeadCodec.decode(bytes)
}

/** The exact bytes the head's signature covers (Hypercore's treeSignable). */
export function headSignable (head: SignedHead): Uint8Array {
  return treeSignable(head.key, head.root, head.length, head.fork)
}

/** Why a head does not verify, or null if it does. Never throws. */
function headProblem (head: SignedHead, crypto: CryptoProvider): string | null {
  if (!signedHeadSchema.safeParse(head).success) return 'is not a valid SignedHead'
  if (head.prologue !== undefined && head.prologue.length > head.length) return 'is shorter than its core\'s prologue'
  const owned = head.prologue === undefined ? coreKeyOfSigner(head.signer) : coreKeyOfManifest({ signer: head.signer, prologue: head.prologue })
  if (!equal(owned, head.key)) return 'signer does not own the chain key'
  if (!crypto.verify(headSignable(head), head.sig, head.signer)) return 'signature does not verify'
  return null
}

/** Whether `head` is a custodian's valid head for its chain (signer bound to key, signature valid). */
export function verifyHead (head: SignedHead, crypto: CryptoProvider = sodiumProvider): boolean {
  return headProblem(head, crypto) === null
}

/** Like verifyHead, but throws BAD_SIGNATURE (`field` names the head, for nested heads). */
export function assertHead (head: SignedHead, crypto: CryptoProvider = sodiumProvider, field?: string): void {
  const problem = headProblem(head, crypto)
  if (problem !== null) throw new NetError('BAD_SIGNATURE', `${field ?? 'head'}: ${problem}`, field === undefined ? {} : { field })
}

/**
 * The current signed head of an open core or a chain held here (writer or replica). On the
 * writer, from memory (writerHead: what the last append signed, consistent
 * by construction); custodians announce a head after every write, so this
 * path reads no storage and checks no signature. Elsewhere, from what is
 * stored: the head signature Hypercore keeps and the tree hash from local
 * tree nodes, verified. Throws NO_HEAD if the core is empty or has no stored
 * signature, BAD_SIGNATURE if what is stored does not verify (it raced a
 * truncation, or storage is damaged).
 */
export async function headOf (from: Hypercore | HeadSource, crypto: CryptoProvider = sodiumProvider): Promise<SignedHead> {
  const source = 'treeHashAt' in from ? from : await coreHeadSource(from)
  const own = source.writerHead()
  if (own !== null) return { v: 1, ...own.head, root: own.root }
  const stored = source.storedHead()
  if (stored === null) throw new NetError('NO_HEAD', 'the core has no signed head (empty, or no stored signature)')
  const root = await source.treeHashAt(stored.length)
  const head: SignedHead = { v: 1, ...stored, root }
  assertHead(head, crypto)
  return head
}

/** What a signed head is read from: a chain held here (UserChain) is one, a bare core is made one (coreHeadSource). */
export interface HeadSource {
  writerHead (): { head: StoredHead, root: Uint8Array } | null
  storedHead (): StoredHead | null
  treeHashAt (length: number): Promise<Uint8Array>
}

async function coreHeadSource (core: Hypercore): Promise<HeadSource> {
  await core.ready()
  return {
    writerHead: () => writerHead(core),
    storedHead: () => storedHead(core),
    treeHashAt: async (length) => await storedTreeHash(core, length)
  }
}
