/** The one error class of @healthchain/net; callers branch on `code`. */
export type NetErrorCode =
  /** No admitted peer is connected that can serve what was asked. */
  | 'NO_PEER'
  /** A fetch did not complete within its time limit. */
  | 'TIMEOUT'
  /** The node was stopped. */
  | 'STOPPED'
  /** Bytes are not canonical CBOR, not a map, or a frame prefix is not a minimal varint (as core's MALFORMED). */
  | 'MALFORMED'
  /** A field is missing, unknown or has an invalid value; `field` names it (as core's INVALID_FIELD). */
  | 'INVALID_FIELD'
  /** The message's (or a nested head's) `v` is a number other than the one this build speaks. */
  | 'UNSUPPORTED_VERSION'
  /** A message, frame or embedded block exceeds its size limit. */
  | 'TOO_LARGE'
  /** A head, cosignature or fork proof signature does not verify, or a head's signer does not own its key. */
  | 'BAD_SIGNATURE'
  /** Two heads do not prove a fork: different chains or lengths, or the same root. */
  | 'NOT_A_FORK'
  /** A core has no signed head to publish (empty, or its head signature is not stored). */
  | 'NO_HEAD'
  /** A stream ended or was reset before a whole frame arrived. */
  | 'STREAM_ENDED'

export class NetError extends Error {
  override readonly name = 'NetError'
  readonly code: NetErrorCode
  /** The dotted path of the offending field, when there is one (e.g. `heads.3.root`). */
  readonly field: string | undefined

  constructor (code: NetErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.field = opts.field
  }
}

export function isNetError (err: unknown, code?: NetErrorCode): err is NetError {
  return err instanceof NetError && (code === undefined || err.code === code)
}
