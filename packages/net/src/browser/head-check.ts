/**
 * Checking a custodian's signed head and a witness's cosignature of it in a
 * browser: the same bytes and the same rules as wire/head.ts and
 * wire/cosignature.ts, computed with @noble/hashes (BLAKE2b) and core's
 * byte helpers instead of Hypercore and libsodium, so a page can verify what
 * a node shows it without trusting that node. Nothing here imports a Node
 * built-in, Hypercore or sodium; signatures go through the CryptoProvider
 * given (core's `nobleProvider` in a browser).
 *
 * Hypercore's layouts (core key of a signer, tree signable) are core's
 * hypercore-head.ts, the one copy; this module adds the cosignature and the
 * JSON forms.
 *
 * A cosignature covers core's signingMessage(domainTag("healthchain/v1/cosign"),
 * { chainKey: key, seq: length }, root ‖ u64be(fork)).
 */
import { concatBytes, coreKeyOfSigner, domainTag, fromHex, signingMessage, treeSignable, u64be, verifyTreeHead, type CryptoProvider, type TreeHead } from '@healthchain/core'

export { coreKeyOfSigner }

/** A signed head's fields as bytes (wire/head.ts's SignedHead without its version): core's TreeHead. */
export type HeadFields = TreeHead

/** A cosignature's fields (wire/cosignature.ts's Cosignature without its version). */
export interface CosignatureFields {
  readonly head: HeadFields
  readonly witness: string
  readonly sig: Uint8Array
}

/** A head as the HTTP API writes it: bytes as lowercase hex. */
export interface HeadJson {
  readonly key: string
  readonly signer: string
  readonly length: number
  readonly fork: number
  readonly root: string
  readonly sig: string
}

export interface CosignatureJson {
  readonly head: HeadJson
  readonly witness: string
  readonly sig: string
}

const COSIGN_DOMAIN_BYTES = domainTag('healthchain/v1/cosign')

/** The 112 bytes a head's signature covers (Hypercore's treeSignable). */
export function headSignable (head: Pick<HeadFields, 'key' | 'root' | 'length' | 'fork'>): Uint8Array {
  return treeSignable(head.key, head.root, head.length, head.fork)
}

/** The 102 bytes a witness signs for `head`. */
export function cosignMessage (head: Pick<HeadFields, 'key' | 'root' | 'length' | 'fork'>): Uint8Array {
  return signingMessage(COSIGN_DOMAIN_BYTES, { chainKey: head.key, seq: head.length }, concatBytes(head.root, u64be(head.fork)))
}

/** Whether `head` is valid for its chain: the signer owns the key, and the signature verifies. Never throws. */
export function verifyHead (head: HeadFields, crypto: CryptoProvider): boolean {
  return verifyTreeHead(head, crypto)
}

/**
 * Whether `c` is a valid cosignature, by the witness whose signing key is
 * `witnessPublicKey` (take it from the registry for `c.witness`), of a head
 * that itself verifies. Never throws.
 */
export function verifyCosignature (c: CosignatureFields, witnessPublicKey: Uint8Array, crypto: CryptoProvider): boolean {
  try {
    return verifyHead(c.head, crypto) && c.sig.length === 64 && crypto.verify(cosignMessage(c.head), c.sig, witnessPublicKey)
  } catch {
    return false
  }
}

/** A head from the API's JSON (hex) as bytes; core's INVALID_FIELD naming the field if a value is not hex of its size. */
export function headFromJson (json: HeadJson): HeadFields {
  return {
    key: fromHex(json.key, 32, 'key'),
    signer: fromHex(json.signer, 32, 'signer'),
    length: json.length,
    fork: json.fork,
    root: fromHex(json.root, 32, 'root'),
    sig: fromHex(json.sig, 64, 'sig')
  }
}

export function cosignatureFromJson (json: CosignatureJson): CosignatureFields {
  return { head: headFromJson(json.head), witness: json.witness, sig: fromHex(json.sig, 64, 'sig') }
}
