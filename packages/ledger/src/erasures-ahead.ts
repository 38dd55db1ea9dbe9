import type Hypercore from 'hypercore'
import { USER_AUTHOR, decodeEntry, verifyEntrySignature, type CryptoProvider, type Entry } from '@healthchain/core'
import type { ChainUser } from './chain-rules.js'

/**
 * Positions named by erasures stored in `core` at `from` or later that the
 * chain's `user` signed for their own position: proof enough, for a replica's
 * ingest, that an absent block was erased on purpose. Only the signature is
 * checked here, for the key of the core the position was written in
 * (`keyAt`) and the user's key in force or one a rekey ahead reveals; each
 * erasure is checked with every rule when its turn comes. Empty before the
 * genesis names a user.
 */
export async function erasuresAhead (
  core: Hypercore, from: number, user: ChainUser | undefined, crypto: CryptoProvider, keyAt: (seq: number) => Uint8Array
): Promise<ReadonlySet<number>> {
  const named = new Set<number>()
  if (user === undefined) return named
  const userKeys = [user.sign]
  for (let seq = from; seq < core.length; seq++) {
    const block = await core.get(seq, { wait: false })
    if (block === null) continue
    let entry: Entry
    try {
      entry = decodeEntry(block)
    } catch {
      continue
    }
    const slot = { chainKey: keyAt(seq), seq }
    if (entry.type === 'rekey' && verifyEntrySignature(entry, slot, entry.plain.sign, crypto)) userKeys.push(entry.plain.sign)
    if (entry.type !== 'erasure' || entry.author !== USER_AUTHOR) continue
    if (!userKeys.some((key) => verifyEntrySignature(entry, slot, key, crypto))) continue
    for (const target of entry.plain.entries) named.add(target)
  }
  return named
}
