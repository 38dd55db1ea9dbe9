/**
 * Replication lag as the node's status reports it: chains asked for and the
 * blocks they lacked. (In the first test no fetch runs: maxConcurrent 0
 * keeps every run queued. In the second, a stand-in replication fails and
 * then succeeds, with no network: what is tested is the bookkeeping.)
 */
import { describe, expect, it } from 'vitest'
import { NetError } from '../src/index.js'
import { ChainFetcher } from '../src/testing/internals.js'

async function settled (fetcher: ChainFetcher): Promise<void> {
  for (let i = 0; i < 100 && fetcher.pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(fetcher.pending).toBe(0)
}

describe('ChainFetcher.lag', () => {
  it('counts each wanted chain once, from the length it had to the longest length wanted', () => {
    const fetcher = new ChainFetcher({ ledger: { userOfChain: () => 'user', closedChain: () => undefined } as never, replication: {} as never }, { maxConcurrent: 0 })
    expect(fetcher.lag()).toEqual({ chainsBehind: 0, blocksBehind: 0 })
    fetcher.want('aa'.repeat(32), 10, 3)
    expect(fetcher.lag()).toEqual({ chainsBehind: 1, blocksBehind: 7 })
    fetcher.want('aa'.repeat(32), 12)
    expect(fetcher.lag()).toEqual({ chainsBehind: 1, blocksBehind: 9 })
    fetcher.want('bb'.repeat(32), 5, 0)
    expect(fetcher.lag()).toEqual({ chainsBehind: 2, blocksBehind: 14 })
  })

  it('takes in at most maxUnheld chains not held here (the rest dropped and counted); chains held here are never refused', () => {
    const held = new Set(['dd'.repeat(32), 'ee'.repeat(32)])
    const ledger = { userOfChain: (key: Uint8Array) => held.has(Buffer.from(key).toString('hex')) ? 'user' : undefined, closedChain: () => undefined }
    const fetcher = new ChainFetcher({ ledger: ledger as never, replication: {} as never }, { maxConcurrent: 0, maxUnheld: 2 })
    for (let i = 0; i < 5; i++) fetcher.want(String(i).repeat(64), 1, 0)
    for (const key of held) fetcher.want(key, 3, 1)
    expect(fetcher.pending).toBe(4)
    expect(fetcher.stats.dropped).toBe(3)
    expect(fetcher.lag()).toEqual({ chainsBehind: 4, blocksBehind: 2 + 4 })
    // A chain taken in stays in: a longer head for it raises what is wanted.
    fetcher.want('0'.repeat(64), 4, 0)
    expect(fetcher.stats.dropped).toBe(3)
    expect(fetcher.lag().blocksBehind).toBe(9)
  })

  it('keeps a chain whose fetch failed counted as behind, until a later run reaches it', async () => {
    const key = 'cc'.repeat(32)
    const chain = { verifiedLength: 3 }
    let fail = true
    const replication = {
      fetchChain: async () => {
        if (fail) throw new NetError('TIMEOUT', 'fetching took too long')
        chain.verifiedLength = 10
        return { chain, ingest: { added: 7, problem: undefined } }
      }
    }
    const fetcher = new ChainFetcher({ ledger: { userOfChain: () => 'user', closedChain: () => undefined } as never, replication: replication as never })
    fetcher.want(key, 10, 3)
    await settled(fetcher)
    expect(fetcher.stats.failed.get('TIMEOUT')).toBe(1)
    expect(fetcher.lag()).toEqual({ chainsBehind: 1, blocksBehind: 7 })

    fail = false
    fetcher.want(key, 10, 3)
    await settled(fetcher)
    expect(fetcher.stats.fetched).toBe(1)
    expect(fetcher.lag()).toEqual({ chainsBehind: 0, blocksBehind: 0 })
  })
})
