/**
 * The one error class of @healthchain/node, with a stable `code` union;
 * callers (and tests) branch on `code`, never on the message. The HTTP layer
 * maps every code to a status in one table (http/errors.ts). Messages never
 * carry key material, tokens, nonces, signatures or health data. NodeError
 * extends core's HealthchainError, so isHealthchainError knows it too.
 */
import { HealthchainError, codeList } from '@healthchain/core'

export type NodeErrorCode =
  // ---- configuration (ConfigError)
  /** The config file cannot be read. */
  | 'CONFIG_FILE'
  /** The config file is not JSON. */
  | 'CONFIG_MALFORMED'
  /** A config field (or the environment variable overriding it) is missing, unknown or invalid; `field` names it. */
  | 'CONFIG_INVALID'
  // ---- data directory and files at rest
  /** A data directory or owner-only file is missing, unreadable, malformed, or readable by group or others. */
  | 'DATA_FILE'
  /** The PostgreSQL query index cannot be reached, refuses the login, or has no PostGIS. */
  | 'INDEX_DATABASE'
  // ---- request validation (HTTP)
  /** The request does not fit the route's schema; `field` names the offending field (e.g. `body.apiKey`). */
  | 'BAD_REQUEST'
  /** The body is not valid JSON although its content type says it is. */
  | 'MALFORMED_JSON'
  /** The body exceeds `api.bodyLimit`. */
  | 'PAYLOAD_TOO_LARGE'
  /** The body's content type is not one the route accepts (JSON). */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** No route has this method and path. */
  | 'NOT_FOUND'
  /** The HTTP request itself is malformed (bad framing, header syntax, method, or an invalid URL): refused before any route sees it. */
  | 'MALFORMED_REQUEST'
  /** A path segment is longer than a route allows (100 characters). */
  | 'URI_TOO_LONG'
  /** The request's headers (or URL) exceed the server's limit. */
  | 'HEADERS_TOO_LARGE'
  /** The request did not arrive in full within the server's time limit. */
  | 'REQUEST_TIMEOUT'
  // ---- login refusals (401)
  /** An API key does not have the `hck_<id>_<secret>` shape. */
  | 'MALFORMED_KEY'
  /** No API key has this id, or its secret does not match. */
  | 'UNKNOWN_KEY'
  /** The API key was revoked. */
  | 'REVOKED_KEY'
  /** The API key's role is not the role this node runs as (the config changed after it was created). */
  | 'KEY_ROLE_MISMATCH'
  /**
   * No public key is known here for the user id. Never answered to a caller (that would tell who is held here): a user
   * login refused for it is answered LOGIN_REFUSED, and UNKNOWN_USER is the refusal's `reason`, for the audit log.
   */
  | 'UNKNOWN_USER'
  /**
   * A user login's signed challenge does not log the user in here: the signature does not verify with the user's key
   * for this node, the user is not known here, or the challenge was already used (the `reason` says which). One code
   * for all three on purpose; BAD_SIGNATURE (422) stays what it means everywhere else: an entry's or head's signature.
   */
  | 'LOGIN_REFUSED'
  /** The challenge was never issued for this user or has expired (or, as a `reason`, was already used). */
  | 'UNKNOWN_CHALLENGE'
  // ---- bearer token refusals (401)
  /** The request carries no `Authorization: Bearer …` header. */
  | 'MISSING_TOKEN'
  /** The bearer token does not have the `hct_<token>` shape. */
  | 'MALFORMED_TOKEN'
  /** The token was never issued by this process (forged, revoked, or issued before a restart). */
  | 'UNKNOWN_TOKEN'
  /** The token's lifetime is over. */
  | 'EXPIRED_TOKEN'
  // ---- role refusal (403)
  /** The authenticated role may not use this route. */
  | 'FORBIDDEN'
  // ---- audit log
  /** An audit line does not fit its schema (refused before it is written, or found on reading). */
  | 'BAD_AUDIT_LINE'
  /** The audit log is closed. */
  | 'CLOSED'
  // ---- FHIR (422)
  /** The body is not a valid FHIR R4 resource (the message names the element). */
  | 'FHIR_INVALID'
  /** A valid FHIR resource this node cannot store as an exam (no LOINC code, no value, not an Observation…). */
  | 'FHIR_UNSUPPORTED'
  // ---- enrolment tickets (a patient's device enrolling itself with a code staff handed out)
  /** No open ticket has this code: never issued, expired, or already used (one answer for all three). */
  | 'UNKNOWN_TICKET'
  /** The ticket is bound to another user (its chain key was asked for that user first). */
  | 'TICKET_TAKEN'
  /** This node has as many open tickets as it keeps (`auth.maxOpenEnrolmentTickets`); one must be used or expire first. */
  | 'TOO_MANY_TICKETS'
  // ---- the web console
  /** The console's files are not there (`console.dir`): build them with `npm run build:console`. */
  | 'CONSOLE_NOT_BUILT'
  // ---- rate limits (429, with Retry-After)
  /** Too many requests from this source address in the current window (`api.rateLimit`); retry after the seconds Retry-After says. */
  | 'RATE_LIMITED'
  // ---- backup and restore (healthchain backup / restore)
  /** The file is not a healthchain backup, or it is truncated or corrupted (a part or the whole does not match its hash). */
  | 'BACKUP_INVALID'
  /** The backup is of a newer format than this release reads. */
  | 'BACKUP_VERSION'
  /** A restore's target directory exists and is not empty (a restore never overwrites a node). */
  | 'RESTORE_TARGET'
  /** A backup of this node is already under way (one at a time). */
  | 'BACKUP_BUSY'
  // ---- anything else (500; the message is never shown to a client)
  | 'INTERNAL'

export const NODE_ERROR_CODES = codeList<NodeErrorCode>({
  CONFIG_FILE: true,
  CONFIG_MALFORMED: true,
  CONFIG_INVALID: true,
  DATA_FILE: true,
  INDEX_DATABASE: true,
  BAD_REQUEST: true,
  MALFORMED_JSON: true,
  PAYLOAD_TOO_LARGE: true,
  UNSUPPORTED_MEDIA_TYPE: true,
  NOT_FOUND: true,
  MALFORMED_REQUEST: true,
  URI_TOO_LONG: true,
  HEADERS_TOO_LARGE: true,
  REQUEST_TIMEOUT: true,
  MALFORMED_KEY: true,
  UNKNOWN_KEY: true,
  REVOKED_KEY: true,
  KEY_ROLE_MISMATCH: true,
  UNKNOWN_USER: true,
  LOGIN_REFUSED: true,
  UNKNOWN_CHALLENGE: true,
  MISSING_TOKEN: true,
  MALFORMED_TOKEN: true,
  UNKNOWN_TOKEN: true,
  EXPIRED_TOKEN: true,
  FORBIDDEN: true,
  BAD_AUDIT_LINE: true,
  CLOSED: true,
  FHIR_INVALID: true,
  FHIR_UNSUPPORTED: true,
  UNKNOWN_TICKET: true,
  TICKET_TAKEN: true,
  TOO_MANY_TICKETS: true,
  CONSOLE_NOT_BUILT: true,
  RATE_LIMITED: true,
  BACKUP_INVALID: true,
  BACKUP_VERSION: true,
  RESTORE_TARGET: true,
  BACKUP_BUSY: true,
  INTERNAL: true
})

/**
 * Why a login was refused, for the audit log only (NodeError.reason): a NodeError code, or BAD_SIGNATURE in core's
 * sense (the signature does not verify). The caller is answered LOGIN_REFUSED whatever the reason.
 */
export type RefusalReason = NodeErrorCode | 'BAD_SIGNATURE'

export class NodeError extends HealthchainError<NodeErrorCode> {
  override readonly name: string = 'NodeError'
  /**
   * The precise reason, when the code is deliberately less precise (a user login refused for a user not known here is
   * answered like a wrong signature). For the node's own audit log only: never sent to a caller.
   */
  readonly reason: RefusalReason | undefined

  constructor (code: NodeErrorCode, message: string, opts: { field?: string, cause?: unknown, reason?: RefusalReason } = {}) {
    super(code, message, opts)
    this.reason = opts.reason
  }
}

export type ConfigErrorCode = Extract<NodeErrorCode, 'CONFIG_FILE' | 'CONFIG_MALFORMED' | 'CONFIG_INVALID'>

/**
 * A NodeError raised while reading the config, so a daemon's start-up can
 * tell "fix your config" from any other failure. `field` is the config path
 * (`api.port`); when the value came from the environment, the message names
 * the variable too.
 */
export class ConfigError extends NodeError {
  override readonly name = 'ConfigError'
  declare readonly code: ConfigErrorCode

  constructor (code: ConfigErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(code, message, opts)
  }
}

export function isNodeError (err: unknown, code?: NodeErrorCode): err is NodeError {
  return err instanceof NodeError && (code === undefined || err.code === code)
}
