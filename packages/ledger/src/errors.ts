/**
 * The one error class of @healthchain/ledger. A refused append changes
 * nothing: errors are raised before any block is written.
 */
import { CORE_ERROR_CODES, CoreError, HealthchainError, codeList, type CoreErrorCode } from '@healthchain/core'

export type LedgerErrorCode =
  | CoreErrorCode
  /** The chain already holds an entry with this id at another position, or the batch repeats it. */
  | 'DUPLICATE_ENTRY'
  /** The entry was signed for a position that is not the chain's next one. */
  | 'STALE_POSITION'
  /** The author is not in the registry at the registry length it signed against. */
  | 'UNKNOWN_AUTHOR'
  /** The author was suspended at that registry length. */
  | 'AUTHOR_SUSPENDED'
  /** The author's role may not write this entry type (the permission matrix of the design). */
  | 'ROLE_FORBIDDEN'
  /** The entry refers to a registry length this node has not seen yet. */
  | 'REGISTRY_BEHIND'
  /** A sealed segment names a recipient without consent, or omits the user. */
  | 'CONSENT_VIOLATION'
  /** An erasure names an entry that does not exist or cannot be erased. */
  | 'BAD_ERASURE'
  /** Block 0 is missing or is not a valid genesis; or a genesis appears later. */
  | 'BAD_GENESIS'
  /** The user is already enrolled here, or the chain does not belong to the user. */
  | 'ALREADY_ENROLLED'
  /** No chain is held for this user or key. */
  | 'UNKNOWN_CHAIN'
  /** This node does not hold the chain's writing key. */
  | 'NOT_CUSTODIAN'
  /** The Merkle tree or its signature does not match the stored blocks. */
  | 'TREE_MISMATCH'
  /** A block is absent locally and no erasure explains it. */
  | 'MISSING_BLOCK'
  /** The registry is absent, or a registry block fails verification. */
  | 'BAD_REGISTRY'
  /** The ledger is closed. */
  | 'CLOSED'
  /** The store directory is open in another process (or another Ledger of this one): one writer per store. */
  | 'STORE_LOCKED'
  /** The store directory was copied or moved from elsewhere (Corestore's device file does not match): refused, so two nodes never write one chain. */
  | 'STORE_MOVED'
  /** A key file is missing, malformed, or readable by others. */
  | 'KEY_FILE'
  /** Cleared blocks could not be compacted out of the store's files (they stay cleared; the next open tries again). */
  | 'SCRUB_FAILED'

/** Every code of LedgerErrorCode: core's, then the ledger's own. */
export const LEDGER_ERROR_CODES: readonly LedgerErrorCode[] = Object.freeze([
  ...CORE_ERROR_CODES,
  ...codeList<Exclude<LedgerErrorCode, CoreErrorCode>>({
    DUPLICATE_ENTRY: true,
    STALE_POSITION: true,
    UNKNOWN_AUTHOR: true,
    AUTHOR_SUSPENDED: true,
    ROLE_FORBIDDEN: true,
    REGISTRY_BEHIND: true,
    CONSENT_VIOLATION: true,
    BAD_ERASURE: true,
    BAD_GENESIS: true,
    ALREADY_ENROLLED: true,
    UNKNOWN_CHAIN: true,
    NOT_CUSTODIAN: true,
    TREE_MISMATCH: true,
    MISSING_BLOCK: true,
    BAD_REGISTRY: true,
    CLOSED: true,
    STORE_LOCKED: true,
    STORE_MOVED: true,
    KEY_FILE: true,
    SCRUB_FAILED: true
  })
])

export class LedgerError extends HealthchainError<LedgerErrorCode> {
  override readonly name = 'LedgerError'

  constructor (code: LedgerErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(code, message, opts)
  }
}

export function isLedgerError (err: unknown, code?: LedgerErrorCode): err is LedgerError {
  return err instanceof LedgerError && (code === undefined || err.code === code)
}

/** Re-raises a CoreError as a LedgerError with the same code; anything else passes through. */
export function asLedgerError (err: unknown): unknown {
  if (err instanceof LedgerError) return err
  if (err instanceof CoreError) return new LedgerError(err.code, err.message, { field: err.field, cause: err })
  return err
}
