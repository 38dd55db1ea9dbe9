/**
 * The one error class of @healthchain/core. Callers branch on `code`, never on
 * the message; messages never carry health data or key material.
 */
export type CoreErrorCode =
  /** Bytes are not valid canonical CBOR, or the entry does not fit the schema. */
  | 'MALFORMED'
  /** A field is present but its value is invalid (the message names the field). */
  | 'INVALID_FIELD'
  /** The entry's `type` is not one this version knows. */
  | 'UNKNOWN_TYPE'
  /** The encoded entry exceeds MAX_ENTRY_BYTES. */
  | 'TOO_LARGE'
  /** The wire version is not supported by this build. */
  | 'UNSUPPORTED_VERSION'
  /** An author signature does not verify. */
  | 'BAD_SIGNATURE'
  /** A sealed segment could not be opened by the given key (not a recipient, or tampered). */
  | 'NOT_RECIPIENT'
  /** The ciphertext or its wrapping failed authentication. */
  | 'DECRYPT_FAILED'
  /** A key has the wrong length or is not a valid curve point. */
  | 'BAD_KEY'
  /** A recovery phrase is not a valid BIP39 mnemonic. */
  | 'BAD_MNEMONIC'
  /** The role may not perform the action. */
  | 'FORBIDDEN'
  /** A registry entry conflicts with the membership it applies to. */
  | 'REGISTRY_CONFLICT'
  /** A registry core's manifest does not commit to a governance key (see registry-core.ts). */
  | 'BAD_REGISTRY_CORE'

export class CoreError extends Error {
  override readonly name = 'CoreError'
  readonly code: CoreErrorCode
  /** The dotted path of the offending field, when there is one. */
  readonly field: string | undefined

  constructor (code: CoreErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.field = opts.field
  }
}

export function isCoreError (err: unknown, code?: CoreErrorCode): err is CoreError {
  return err instanceof CoreError && (code === undefined || err.code === code)
}
