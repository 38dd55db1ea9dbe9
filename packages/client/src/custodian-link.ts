/**
 * The phone's transport for a signed entry: one request over
 * `/healthchain/append` straight to the chain's custodian (the only node
 * that holds the chain's writing key), answered once the custodian has
 * durably appended it. Re-signing after STALE_POSITION is not done here but
 * by resign.ts, the same loop the HTTP path uses; this only says what the
 * custodian answered.
 */
import { encodeEntry, type Entry, type UserId } from '@healthchain/core'
import type { AppendResult, Ledger } from '@healthchain/ledger'
import { NetError, custodianPeerOf, forwardAppend, type LightPeer } from '@healthchain/net'
import type { SendAnswer } from './resign.js'

export interface CustodianLinkComponents {
  readonly peer: LightPeer
  /** The device's ledger: its copy of the chain names the custodian (block 0), its registry the custodian's peer. */
  readonly ledger: Ledger
  readonly user: UserId
  /** True once the client is closing: nothing more is sent. */
  readonly closed: () => boolean
}

/**
 * Sends `entry`, signed for `seq` of `chainKey`, to the custodian. Throws
 * NetError: STOPPED (the client closed), UNKNOWN_CUSTODIAN (the chain was
 * never synced here, or the registry names no peer for its custodian),
 * CUSTODIAN_UNREACHABLE, TIMEOUT, REFUSED (`remoteCode`: the custodian's
 * code, for anything but a STALE_POSITION that says the chain's length).
 */
export async function sendToCustodian (
  c: CustodianLinkComponents, entry: Entry, slot: { readonly chainKey: Uint8Array, readonly seq: number }, opts: { readonly timeoutMs: number }
): Promise<SendAnswer<AppendResult>> {
  if (c.closed()) throw new NetError('STOPPED', 'the light peer stopped')
  const custodian = await custodianPeerOf(c.ledger, c.user)
  const response = await forwardAppend(
    c.peer.host, custodian, { v: 1, chain: slot.chainKey, seq: slot.seq, block: encodeEntry(entry) }, { timeoutMs: opts.timeoutMs }
  )
  if (response.ok) return { accepted: { seq: response.seq, duplicate: response.duplicate } }
  const refused = new NetError('REFUSED', `the custodian refused the entry (${response.code}): ${response.message}`, { remoteCode: response.code })
  if (response.code === 'STALE_POSITION' && response.length !== undefined) return { stale: true, length: response.length, cause: refused }
  throw refused
}
