/**
 * Sending an entry the user signed, whatever carries it (a node's HTTP API,
 * or the libp2p append protocol straight to the custodian).
 *
 * A user's signature binds the entry to one position of one chain, and the
 * custodian appends it only at that position. When another write took the
 * position first, the custodian answers STALE_POSITION: the entry is signed
 * again for the chain's new length and sent again. Its id and content never
 * change, so a retry is never appended twice (the custodian answers a resend
 * of an appended entry with its position, `duplicate`).
 *
 *   seq = length()
 *   loop:
 *     send(sign(seq), seq)
 *       accepted                      → done
 *       stale, custodian says n       → seq = n, again
 *       stale, no length in answer    → seq = length(), again
 *       any other refusal or failure  → thrown unchanged
 *     after MAX_RESIGNS re-signs      → ClientError REFUSED (remoteCode STALE_POSITION)
 */
import type { Entry } from '@healthchain/core'
import { ClientError } from './errors.js'

/** Re-signs after STALE_POSITION before giving up: a chain that moves on this often is busy, and the write is better tried later. */
export const MAX_RESIGNS = 5

/** What a transport's send came to: accepted (`value`), or the position was taken (`stale`; `length` if the answer said it). */
export type SendAnswer<R> =
  | { readonly accepted: R }
  | { readonly stale: true, readonly length?: number, readonly cause?: unknown }

export interface SignedSendSteps<R> {
  /** The chain's length as the writer knows it: the position to sign for. */
  readonly length: () => Promise<number>
  /** The entry signed for position `seq` (same id and content every time). */
  readonly sign: (seq: number) => Entry
  /** Sends the entry signed for `seq`; throws on anything but acceptance or STALE_POSITION. */
  readonly send: (entry: Entry, seq: number) => Promise<SendAnswer<R>>
}

/**
 * Signs, sends, and re-signs after STALE_POSITION (see the file comment).
 * Throws what `length`, `sign` or `send` throw, unchanged, and ClientError
 * REFUSED with remoteCode STALE_POSITION once `maxResigns` re-signs are spent.
 */
export async function sendSigned<R> (steps: SignedSendSteps<R>, opts: { maxResigns?: number } = {}): Promise<R> {
  const maxResigns = opts.maxResigns ?? MAX_RESIGNS
  let seq = await steps.length()
  for (let resigns = 0; ; resigns++) {
    const answer = await steps.send(steps.sign(seq), seq)
    if ('accepted' in answer) return answer.accepted
    if (resigns >= maxResigns) {
      throw new ClientError('REFUSED', `the chain moved on ${resigns + 1} times while the entry was being signed for its next position; it was not appended`, {
        remoteCode: 'STALE_POSITION', ...(answer.cause === undefined ? {} : { cause: answer.cause })
      })
    }
    seq = answer.length ?? await steps.length()
  }
}
