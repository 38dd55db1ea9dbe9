/**
 * Cosignature, wire version 1: a regulator (witness) vouches that it saw
 * `head`, verified it, and found it consistent with every head it has seen
 * of that chain — as transparency-log witnesses do. A client may demand a
 * quorum of cosignatures before it trusts a head, which makes a split view
 * by a custodian impossible to hide.
 *
 *   { v: 1, head: SignedHead, witness: institution id, sig: bytes64 }
 *
 * `sig` is the witness's Ed25519 signature (its institution signing key, as
 * listed in the registry) over 102 bytes:
 *
 *   "healthchain/v1/cosign" 0x00     22 bytes, the domain tag
 *   ‖ head.key                       32
 *   ‖ u64be(head.length)              8
 *   ‖ head.root                      32
 *   ‖ u64be(head.fork)                8
 *
 * i.e. core's signingMessage(domainTag("healthchain/v1/cosign"),
 * { chainKey: head.key, seq: head.length }, root ‖ u64be(fork)) — the same
 * layout as entry signatures, with the head's root and fork as the body. The
 * head's `signer` and `sig` are not covered: the key binds the signer, and a
 * witness vouches for the (chain, length, root, fork) it checked, not for one
 * encoding of the custodian's signature. The domain tag keeps these apart
 * from entry, registry and Hypercore signatures; a version 2 needs a new tag.
 *
 * Encoded size ≤ 375 bytes; the limit is 512.
 */
import { z } from 'zod'
import {
  concatBytes, domainTag, institutionIdSchema, signatureSchema, signingMessage, u64be, type CryptoProvider
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { NetError } from '../errors.js'
import { defineCodec, versionSchema } from './codec.js'
import { assertHead, signedHeadSchema, verifyHead, type SignedHead } from './head.js'

export const COSIGN_DOMAIN = 'healthchain/v1/cosign'
const COSIGN_DOMAIN_BYTES = domainTag(COSIGN_DOMAIN)
export const MAX_COSIGNATURE_BYTES = 512

export const cosignatureSchema = z.strictObject({
  v: versionSchema,
  head: signedHeadSchema,
  witness: institutionIdSchema,
  sig: signatureSchema
})

export type Cosignature = z.output<typeof cosignatureSchema>

export const cosignatureCodec = defineCodec({ name: 'Cosignature', schema: cosignatureSchema, maxBytes: MAX_COSIGNATURE_BYTES })

export function encodeCosignature (cosignature: Cosignature): Uint8Array {
  return cosignatureCodec.encode(cosignature)
}

export function decodeCosignature (bytes: Uint8Array): Cosignature {
  return cosignatureCodec.decode(bytes)
}

/** The exact 102 bytes a witness signs for `head`. */
export function cosignMessage (head: SignedHead): Uint8Array {
  return signingMessage(COSIGN_DOMAIN_BYTES, { chainKey: head.key, seq: head.length }, concatBytes(head.root, u64be(head.fork)))
}

/**
 * A witness's cosignature of `head`, after checking the head itself
 * (BAD_SIGNATURE if it does not verify). Consistency with earlier heads is
 * the witness's own check, before calling this.
 */
export function cosign (head: SignedHead, witness: string, secretKey: Uint8Array, crypto: CryptoProvider = sodiumProvider): Cosignature {
  assertHead(head, crypto)
  const cosignature = { v: 1, head, witness, sig: crypto.sign(cosignMessage(head), secretKey) } as const
  return cosignatureCodec.parse(cosignature)
}

/** Why a cosignature does not verify, or null. */
function cosignatureProblem (c: Cosignature, witnessPublicKey: Uint8Array, crypto: CryptoProvider): { field: string, problem: string } | null {
  if (!cosignatureSchema.safeParse(c).success) return { field: 'sig', problem: 'is not a valid Cosignature' }
  if (!verifyHead(c.head, crypto)) return { field: 'head', problem: 'the head does not verify' }
  if (!crypto.verify(cosignMessage(c.head), c.sig, witnessPublicKey)) return { field: 'sig', problem: 'the witness signature does not verify' }
  return null
}

/**
 * Whether `c` is a valid cosignature by the witness whose signing public key
 * is `witnessPublicKey` (the caller takes it from the registry for
 * `c.witness`), of a head that itself verifies.
 */
export function verifyCosignature (c: Cosignature, witnessPublicKey: Uint8Array, crypto: CryptoProvider = sodiumProvider): boolean {
  return cosignatureProblem(c, witnessPublicKey, crypto) === null
}

/** Like verifyCosignature, but throws BAD_SIGNATURE naming `head` or `sig`. */
export function assertCosignature (c: Cosignature, witnessPublicKey: Uint8Array, crypto: CryptoProvider = sodiumProvider): void {
  const found = cosignatureProblem(c, witnessPublicKey, crypto)
  if (found !== null) throw new NetError('BAD_SIGNATURE', `Cosignature: ${found.field}: ${found.problem}`, { field: found.field })
}
