/**
 * The error shape of every healthchain package. Each package has its own
 * class with its own stable `code` union (CoreError here, LedgerError,
 * NetError, ClientError, NodeError, CliError…), and every one of them
 * extends HealthchainError, so one guard (isHealthchainError) recognises
 * them all without matching class names (an error that crosses a worker
 * thread is rebuilt as its class, by code). Callers branch on `code`,
 * never on the message; messages never carry health data or key material.
 */

export interface HealthchainErrorOptions {
  /** The dotted path of the offending field, when there is one (e.g. `plain.observations.0.code`). */
  field?: string
  /** The code a remote peer answered with (e.g. a custodian's refusal of a forwarded entry). */
  remoteCode?: string
  cause?: unknown
}

export class HealthchainError<Code extends string = string> extends Error {
  override readonly name: string = 'HealthchainError'
  readonly code: Code
  /** The dotted path of the offending field, when there is one. */
  readonly field: string | undefined
  /** The code a remote peer answered with, when this error reports its refusal. */
  readonly remoteCode: string | undefined

  constructor (code: Code, message: string, opts: HealthchainErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.field = opts.field
    this.remoteCode = opts.remoteCode
  }
}

/** Whether `err` is any package's error (with `code`, when given). The one guard the codebase branches with. */
export function isHealthchainError<Code extends string = string> (err: unknown, code?: Code): err is HealthchainError<Code> {
  return err instanceof HealthchainError && (code === undefined || err.code === code)
}

/**
 * A code union as a runtime list, checked both ways by the compiler: the
 * record must name every code of the union and nothing else. Each
 * package exports its list, so tests (and decoders) can walk every code.
 */
export function codeList<Code extends string> (codes: Record<Code, true>): readonly Code[] {
  return Object.freeze(Object.keys(codes) as Code[])
}

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
  /** A key has the wrong length or is not a valid curve point, or revealed keys are not the ones committed to. */
  | 'BAD_KEY'
  /** A recovery phrase is not a valid BIP39 mnemonic. */
  | 'BAD_MNEMONIC'
  /** The role may not perform the action. */
  | 'FORBIDDEN'
  /** A registry entry conflicts with the membership it applies to. */
  | 'REGISTRY_CONFLICT'
  /** A registry core's manifest does not commit to a governance key (see registry-core.ts). */
  | 'BAD_REGISTRY_CORE'

export const CORE_ERROR_CODES = codeList<CoreErrorCode>({
  MALFORMED: true,
  INVALID_FIELD: true,
  UNKNOWN_TYPE: true,
  TOO_LARGE: true,
  UNSUPPORTED_VERSION: true,
  BAD_SIGNATURE: true,
  NOT_RECIPIENT: true,
  DECRYPT_FAILED: true,
  BAD_KEY: true,
  BAD_MNEMONIC: true,
  FORBIDDEN: true,
  REGISTRY_CONFLICT: true,
  BAD_REGISTRY_CORE: true
})

export class CoreError extends HealthchainError<CoreErrorCode> {
  override readonly name = 'CoreError'

  constructor (code: CoreErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(code, message, opts)
  }
}

export function isCoreError (err: unknown, code?: CoreErrorCode): err is CoreError {
  return err instanceof CoreError && isHealthchainError(err, code)
}
