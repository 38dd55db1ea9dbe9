/**
 * The one error class of @healthchain/client. Callers branch on `code`,
 * never on the message; messages never carry health data, key material or
 * the recovery phrase. Lower errors (core, ledger, net) are kept as `cause`.
 * It extends core's HealthchainError, so isHealthchainError knows it too.
 */
import { HealthchainError, codeList } from '@healthchain/core'

export type ClientErrorCode =
  /** An argument is missing or out of range; `field` names it. */
  | 'INVALID_INPUT'
  /** A user may not write this entry type (exam, genesis): refused on the device, before anything is sent. */
  | 'ROLE_FORBIDDEN'
  /** A user never writes a sealed segment: refused on the device, before anything is sent. */
  | 'SEALED_FORBIDDEN'
  /** The chain asked for is not this user's: a phone reads and writes its own chain only. */
  | 'NOT_OWN_CHAIN'
  /** This device does not know the user's chain key yet (`sync` with a node connected finds it), or no connected node holds a chain of this user. */
  | 'NOT_ENROLLED'
  /** The chain has never been synced here, so its custodian is unknown (`sync` once); for `rotate`, writes for the keys in force are still queued. */
  | 'NOT_SYNCED'
  /** No node is connected (`connect` first). */
  | 'NOT_CONNECTED'
  /** No connected node served the chain in time: a wrong chain key, or a node that does not hold it. */
  | 'CHAIN_NOT_SERVED'
  /** A network exchange did not finish within its time limit. */
  | 'TIMEOUT'
  /**
   * No head of the chain has the quorum of witness cosignatures this device
   * demands (the message says how many the best head had, and how many are
   * needed), or the chain served is not the witnessed one. The device keeps
   * what it trusted before.
   */
  | 'NO_QUORUM'
  /** The custodian refused an entry; `remoteCode` is its code (e.g. BAD_SIGNATURE, ROLE_FORBIDDEN). */
  | 'REFUSED'
  /** Sending or fetching failed for a reason not listed above; see `cause`. */
  | 'NETWORK'
  /** The registry this device has names no such institution. */
  | 'UNKNOWN_EXAMINER'
  /** The institution is not an active examiner, so it may never read sealed data. */
  | 'NOT_AN_EXAMINER'
  /** An erasure names an entry that is not an exam, exercise or location entry of this chain. */
  | 'NOT_ERASABLE'
  /** An import file is not well-formed (XML or CSV syntax); `line` says where. */
  | 'IMPORT_MALFORMED'
  /** A record of an import file is well-formed but invalid; `line` and `field` say which. */
  | 'IMPORT_INVALID'
  /** An import file holds no track points or rows. */
  | 'IMPORT_EMPTY'
  /** The device directory belongs to another user or registry, or its state file is damaged. */
  | 'DEVICE_STATE'
  /** The device directory is open in another process (one app instance per directory). */
  | 'DEVICE_LOCKED'
  /** The device directory was copied from another disk or machine: start a fresh one with the phrase. */
  | 'DEVICE_MOVED'
  /** The client is closed. */
  | 'CLOSED'

export interface ClientErrorOptions {
  field?: string
  /** 1-based line of an import file. */
  line?: number
  /** For REFUSED: the custodian's stable code. */
  remoteCode?: string
  cause?: unknown
}

export const CLIENT_ERROR_CODES = codeList<ClientErrorCode>({
  INVALID_INPUT: true,
  ROLE_FORBIDDEN: true,
  SEALED_FORBIDDEN: true,
  NOT_OWN_CHAIN: true,
  NOT_ENROLLED: true,
  NOT_SYNCED: true,
  NOT_CONNECTED: true,
  CHAIN_NOT_SERVED: true,
  TIMEOUT: true,
  NO_QUORUM: true,
  REFUSED: true,
  NETWORK: true,
  UNKNOWN_EXAMINER: true,
  NOT_AN_EXAMINER: true,
  NOT_ERASABLE: true,
  IMPORT_MALFORMED: true,
  IMPORT_INVALID: true,
  IMPORT_EMPTY: true,
  DEVICE_STATE: true,
  DEVICE_LOCKED: true,
  DEVICE_MOVED: true,
  CLOSED: true
})

export class ClientError extends HealthchainError<ClientErrorCode> {
  override readonly name = 'ClientError'
  readonly line: number | undefined

  constructor (code: ClientErrorCode, message: string, opts: ClientErrorOptions = {}) {
    super(code, message, opts)
    this.line = opts.line
  }
}

export function isClientError (err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code)
}

/** A CoreError's INVALID_FIELD (or any core refusal) as INVALID_INPUT, keeping the field it names. */
export function invalidInput (err: unknown, prefix = ''): ClientError {
  const core = err as { code?: unknown, field?: unknown, message?: unknown } | null
  const field = typeof core?.field === 'string' ? `${prefix}${core.field}` : (prefix === '' ? undefined : prefix.replace(/\.$/, ''))
  const message = typeof core?.message === 'string' ? core.message : 'invalid input'
  return new ClientError('INVALID_INPUT', message, { field, cause: err })
}
