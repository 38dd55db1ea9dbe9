/** The one error class of @healthchain/net; callers branch on `code`. */
export type NetErrorCode =
  /** No admitted peer is connected that can serve what was asked. */
  | 'NO_PEER'
  /** A fetch did not complete within its time limit. */
  | 'TIMEOUT'
  /** The node was stopped. */
  | 'STOPPED'

export class NetError extends Error {
  override readonly name = 'NetError'
  readonly code: NetErrorCode

  constructor (code: NetErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
  }
}
