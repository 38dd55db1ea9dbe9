/**
 * Seeds the head log at start with the stored signed head of every chain
 * this node holds, as custodian or replica, so that heads-sync tells peers
 * of them from the first reconciliation on. The log lives in memory: without
 * this, a node that restarted served nothing for chains it did not append to
 * or hear of again, and a replica that had missed appends (stopped, or the
 * custodian crashed between an append and its announcement) never learned
 * of them — still behind, and reporting no lag.
 *
 * Heads are read from storage a page of chains at a time
 * (`Ledger.storedHeads`: two RocksDB read batches a page, no Hypercore
 * opened — an open core costs 20–30 KB and a node may hold millions of
 * chains). They are not verified here: the head record is the one
 * Hypercore wrote with the tree it signs, and every peer verifies each head
 * it receives before using it. A head already logged at the same or a
 * greater length is left as it is; a page whose heads cannot be read is
 * counted and skipped (those chains are logged again at their next head,
 * own or a peer's).
 *
 * A chain whose stored head is longer than the blocks held from 0
 * (`contiguousLength`: a replica's fetch cut short by the crash, or blocks
 * cleared by an erasure) is reported to `incomplete` with its stored
 * length: its logged head then says more than this node has verified, and
 * heads.ts must not take a peer's head of that length as nothing new.
 */
import { bytesToHex } from '@healthchain/core'
import { LedgerError, type Ledger } from '@healthchain/ledger'
import type { HeadLog } from './head-log.js'

/** Chains read per storage batch. */
export const SEED_PAGE = 1000

export interface SeedStats {
  /** Heads put into the log from storage. */
  seeded: number
  /** Pages of chains whose heads could not be read. */
  failedPages: number
}

export interface SeedOptions {
  /** Told of each seeded chain (key hex) whose stored head is ahead of the blocks held from 0. */
  readonly incomplete: (keyHex: string, storedLength: number) => void
  /** Stops between pages. */
  readonly signal?: AbortSignal
  readonly pageSize?: number
}

/** Puts every held chain's stored head in `log`. Never throws. */
export async function seedHeadLog (ledger: Ledger, log: HeadLog, stats: SeedStats, opts: SeedOptions): Promise<void> {
  const users = ledger.users()
  const pageSize = opts.pageSize ?? SEED_PAGE
  for (let start = 0; start < users.length; start += pageSize) {
    if (opts.signal?.aborted === true) return
    let page
    try {
      page = await ledger.storedHeads(users.slice(start, start + pageSize))
    } catch (err) {
      // The ledger closed under us (the node is stopping): nothing more to read.
      if (err instanceof LedgerError && err.code === 'CLOSED') return
      stats.failedPages++
      continue
    }
    for (const stored of page.values()) {
      if (stored === undefined) continue
      const { head, contiguousLength } = stored
      const id = bytesToHex(head.key)
      const logged = log.get(id)
      if (logged !== undefined && logged.length >= head.length) continue
      log.put(id, { v: 1, ...head })
      stats.seeded++
      if (contiguousLength < head.length) opts.incomplete(id, head.length)
    }
  }
}
