/**
 * The one error class of @healthchain/ledger. A refused append changes
 * nothing: errors are raised before any block is written.
 */
import type { CoreErrorCode } from '@healthchain/core'

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
  /** The author's role may not write this entry type (DESIGN.md §2). */
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

export class LedgerError extends Error {
  override readonly name = 'LedgerError'
  readonly code: LedgerErrorCode
  readonly field: string | undefined

  constructor (code: LedgerErrorCode, message: string, opts: { field?: string, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.code = code
    this.field = opts.field
  }
}

/** Re-raises a CoreError as a LedgerError with the same code; anything else passes through. */
export function asLedgerError (err: unknown): unknown {
  if (err instanceof LedgerError) return err
  if (err instanceof Error && err.name === 'CoreError') {
    const core = err as Error & { code: CoreErrorCode, field?: string }
    return new LedgerError(core.code, core.message, { field: core.field, cause: err })
  }
  return err
}
