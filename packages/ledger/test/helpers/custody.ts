/**
 * What the custody tests do again and again: wiring two ledgers, fetching a
 * chain's blocks but the erased ones, holding a verified replica, signing
 * the user's migrate for an offer, and following a continuation.
 */
import type Hypercore from 'hypercore'
import { expect } from 'vitest'
import { buildMigrate, signEntry, type Entry, type MigratePlain, type UserKeys } from '@healthchain/core'
import type { ContinuationOffer, Ledger, UserChain } from '../../src/index.js'
import { coreOf } from '../../src/testing/index.js'
import { downloadUnerased } from '../../src/download-unerased.js'
import { crypto, link, waitForLength, within, type Link } from './consortium.js'

export interface CustodyHelpers {
  wire: (from: Ledger, to: Ledger) => Link
  /** Attaches `core` to the link and downloads [0, length) but the blocks the user erased (Link.fetch would wait for those for ever). */
  fetchUnerased: (w: Link, core: Hypercore, length: number) => Promise<void>
  /** `to` starts holding a verified replica of the user's chain as `from` serves it now. */
  replicate: (from: Ledger, to: Ledger) => Promise<UserChain>
  /** The migrate the user signs for an offer (with the key in force: generation 0 unless `signer` says otherwise). */
  signMigrate: (offer: ContinuationOffer, plain?: MigratePlain, signer?: UserKeys, opts?: { time?: number }) => Entry
  /** `to` fetches the continuation `key` from `from` up to `length` and follows it. */
  follow: (from: Ledger, to: Ledger, key: Uint8Array, length: number) => Promise<UserChain | undefined>
  /** Destroys every link made so far. */
  unwire: () => void
}

/** The helpers for the user `current()` returns (each test's beforeEach sets it). */
export function custodyHelpers (current: () => UserKeys): CustodyHelpers {
  const wires: Link[] = []
  const wire = (from: Ledger, to: Ledger): Link => {
    const w = link(from, to)
    wires.push(w)
    return w
  }
  const fetchUnerased = async (w: Link, core: Hypercore, length: number): Promise<void> => {
    core.replicate(w.responder)
    await waitForLength(core, length)
    await within(downloadUnerased(core, 0, length), 10_000, 'download')
  }
  return {
    wire,
    fetchUnerased,
    async replicate (from, to) {
      const user = current().userId
      const w = wire(from, to)
      await w.fetch(to.registry.core, from.registry.core.length)
      await to.registry.refresh()
      const source = await from.chain(user)
      const replica = to.hasChain(user) ? await to.chain(user) : await to.replicaOf(user, source.key)
      await fetchUnerased(w, coreOf(replica), source.length)
      await replica.ingest()
      expect(replica.verifiedLength).toBe(source.length)
      return replica
    },
    signMigrate (offer, plain = offer.plain, signer = current(), opts = {}) {
      return signEntry(buildMigrate(plain, opts, crypto), { chainKey: offer.key, seq: offer.length }, signer.sign.secretKey, crypto)
    },
    async follow (from, to, key, length) {
      const session = to.coreSession(key)
      try {
        await fetchUnerased(wire(from, to), session, length)
        return await to.followContinuation(current().userId, key)
      } finally {
        await session.close()
      }
    },
    unwire () {
      for (const w of wires.splice(0)) w.destroy()
    }
  }
}
