/**
 * The refusal a request/response protocol answers with (append forwarding,
 * my-chain): a stable code and a short message that carries no health data
 * or key material — the ledger's, core's and this package's own messages,
 * by contract — stripped of control characters and cut to the wire limit;
 * anything unexpected is INTERNAL with a fixed text, never a stack trace.
 *
 * The codes a node may answer are listed here, once (REFUSAL_CODES), and
 * decoded strictly: a code this build does not know (a newer peer's, or
 * garbage) is read as UNKNOWN_REFUSAL, never carried on as an arbitrary
 * string.
 */
import { z } from 'zod'
import { CoreError } from '@healthchain/core'
import { LEDGER_ERROR_CODES, LedgerError, type LedgerErrorCode } from '@healthchain/ledger'
import { NET_ERROR_CODES, NetError, type NetErrorCode } from './errors.js'

/** Refusals only a protocol handler answers (no error class carries them). */
export type ProtocolRefusalCode =
  /** The asking peer is not admitted by the registry, or a light peer asked about a chain not its own. */
  | 'NOT_ADMITTED'
  /** The node failed in a way it does not explain (its log has the details). */
  | 'INTERNAL'
  /** Read only, never sent: the peer answered a code this build does not know. */
  | 'UNKNOWN_REFUSAL'

/** Every code a custodian (or any node answering a request) may send back: a ledger or core code, a net code, or a protocol one. */
export type RefusalCode = LedgerErrorCode | NetErrorCode | ProtocolRefusalCode

const PROTOCOL_REFUSAL_CODES: readonly ProtocolRefusalCode[] = ['NOT_ADMITTED', 'INTERNAL', 'UNKNOWN_REFUSAL']

export const REFUSAL_CODES: readonly RefusalCode[] = Object.freeze([...new Set<RefusalCode>([
  ...LEDGER_ERROR_CODES, ...NET_ERROR_CODES, ...PROTOCOL_REFUSAL_CODES
])])

const KNOWN: ReadonlySet<string> = new Set(REFUSAL_CODES)

export function isRefusalCode (code: unknown): code is RefusalCode {
  return typeof code === 'string' && KNOWN.has(code)
}

/**
 * A refusal's `code` on the wire: the shape every build has sent (A-Z and _, at most 64), read as a
 * RefusalCode, an unknown one as UNKNOWN_REFUSAL (so a newer peer's code is still an answer, not a decoding error).
 */
export const refusalCodeSchema = z.string().max(64).regex(/^[A-Z_]+$/, { message: 'expected an error code (A-Z and _)' })
  .transform((code): RefusalCode => isRefusalCode(code) ? code : 'UNKNOWN_REFUSAL')

export interface Refusal {
  readonly v: 1
  readonly ok: false
  readonly code: RefusalCode
  readonly message: string
}

export function refusal (code: RefusalCode, message: string): Refusal {
  return { v: 1, ok: false, code, message }
}

/** A refusal carrying a stable error's code and message (at most `maxChars`); anything else is INTERNAL with `internalMessage`. */
export function refusalOf (err: unknown, internalMessage: string, maxChars: number): Refusal {
  if (err instanceof LedgerError || err instanceof CoreError || err instanceof NetError) {
    return refusal(err.code, safeMessage(err.message, `refused: ${err.code}`, maxChars))
  }
  return refusal('INTERNAL', internalMessage)
}

function safeMessage (text: string, fallback: string, maxChars: number): string {
  // eslint-disable-next-line no-control-regex -- on purpose: control characters in a peer's message become spaces
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, maxChars)
  return clean === '' ? fallback : clean
}
