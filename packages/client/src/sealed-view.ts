/**
 * Opening the sealed part of an entry as a node's HTTP API shows it to the
 * user: the node only ever sends users the ciphertext (`sealed.envelope`,
 * the canonical encoding of the sealed segment, hex), and the user's
 * device opens it with the user's own box key. The CLI and the browser
 * console open sealed parts with these same functions.
 */
import {
  decodeCanonical, fromHex, openSealed, sealedSchema, type CryptoProvider, type ExamSealed, type Sealed, type UserKeys
} from '@healthchain/core'

/** What these functions read of an entry view (the API's entry view has these fields and more). */
export interface SealedEntryView {
  /** The entry id, hex. */
  readonly id: string
  readonly sealed?: { readonly readable: true, readonly data: unknown } | { readonly readable: false, readonly envelope?: string | undefined } | undefined
}

/** The sealed segment a node sends the user (`sealed.envelope`), decoded; undefined if the entry has none. */
export function envelopeOf (view: SealedEntryView): Sealed | undefined {
  if (view.sealed === undefined || view.sealed.readable || view.sealed.envelope === undefined) return undefined
  return sealedSchema.parse(decodeCanonical(fromHex(view.sealed.envelope, view.sealed.envelope.length / 2, 'envelope')))
}

/**
 * The sealed segment of an entry the user reads, opened with the user's own
 * key; undefined if it has none. Throws core's errors (NOT_RECIPIENT, a
 * failed decryption) when it does not open.
 */
export function openEnvelope (view: SealedEntryView, chainKey: string, user: UserKeys, crypto: CryptoProvider): ExamSealed | undefined {
  const sealed = envelopeOf(view)
  if (sealed === undefined) return undefined
  return openSealed(sealed, user.box, { chainKey: fromHex(chainKey, 32, 'chainKey'), entryId: fromHex(view.id, 16, 'id') }, crypto)
}
