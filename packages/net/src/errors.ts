/** The one error class of @healthchain/net; callers branch on `code`. */
import { HealthchainError, codeList } from '@healthchain/core'
import type { RefusalCode } from './refusals.js'

export type NetErrorCode =
  /** No admitted peer is connected that can serve what was asked. */
  | 'NO_PEER'
  /**
   * A fetch, or a forwarded append after its request was sent, did not complete within its
   * time limit (an append's outcome is then unknown; a retry is safe).
   */
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
  /** Two heads do not prove a fork: different chains, the same root at one length, or a longer history that extends the shorter head. */
  | 'NOT_A_FORK'
  /** A fork proof's Merkle nodes do not hash to the signed root of its longer head. */
  | 'BAD_PROOF'
  /** A core has no signed head to publish (empty, or its head signature is not stored). */
  | 'NO_HEAD'
  /** A stream ended or was reset before a whole frame arrived. */
  | 'STREAM_ENDED'
  /** The chain's custodian could not be dialled, or the stream to it failed before an answer came. */
  | 'CUSTODIAN_UNREACHABLE'
  /** This node cannot tell who the chain's custodian is: it holds no replica, the genesis is not here yet, or the registry names no peer for it. */
  | 'UNKNOWN_CUSTODIAN'
  /** The custodian refused the entry; `remoteCode` carries its code (e.g. BAD_SIGNATURE, ROLE_FORBIDDEN). */
  | 'REFUSED'
  /** No head of the chain has cosignatures from `quorum` distinct witnesses (the message says how many the best one got). */
  | 'NO_QUORUM'
  /**
   * A restored node holds writes to its own chains until it has compared heads with its peers and fetched back what they
   * hold longer (catch-up.ts): a write now could sign a second block at a position a peer already holds — a fork.
   */
  | 'CATCHING_UP'

export const NET_ERROR_CODES = codeList<NetErrorCode>({
  NO_PEER: true,
  TIMEOUT: true,
  STOPPED: true,
  MALFORMED: true,
  INVALID_FIELD: true,
  UNSUPPORTED_VERSION: true,
  TOO_LARGE: true,
  BAD_SIGNATURE: true,
  NOT_A_FORK: true,
  BAD_PROOF: true,
  NO_HEAD: true,
  STREAM_ENDED: true,
  CUSTODIAN_UNREACHABLE: true,
  UNKNOWN_CUSTODIAN: true,
  REFUSED: true,
  NO_QUORUM: true,
  CATCHING_UP: true
})

export class NetError extends HealthchainError<NetErrorCode> {
  override readonly name = 'NetError'
  /** For REFUSED: the code the remote node answered (refusals.ts lists them; an unknown one is UNKNOWN_REFUSAL). */
  declare readonly remoteCode: RefusalCode | undefined

  constructor (code: NetErrorCode, message: string, opts: { field?: string, cause?: unknown, remoteCode?: RefusalCode } = {}) {
    super(code, message, opts)
  }
}

export function isNetError (err: unknown, code?: NetErrorCode): err is NetError {
  return err instanceof NetError && (code === undefined || err.code === code)
}
