/**
 * The refusal a request/response protocol answers with (append forwarding,
 * my-chain): a stable code and a short message that carries no health data
 * or key material — the ledger's, core's and this package's own messages,
 * by contract — stripped of control characters and cut to the wire limit;
 * anything unexpected is INTERNAL with a fixed text, never a stack trace.
 */
import { CoreError } from '@healthchain/core'
import { LedgerError } from '@healthchain/ledger'
import { NetError } from './errors.js'

export interface Refusal {
  readonly v: 1
  readonly ok: false
  readonly code: string
  readonly message: string
}

export function refusal (code: string, message: string): Refusal {
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
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, maxChars)
  return clean === '' ? fallback : clean
}
