/**
 * Replication lag as the node's status reports it: chains asked for and the
 * blocks they lacked. (No fetch runs here: maxConcurrent 0 keeps every run
 * queued, which is the state lag() describes.)
 */
import { describe, expect, it } from 'vitest'
import { ChainFetcher } from '../src/index.js'

describe('ChainFetcher.lag', () => {
  it('counts each wanted chain once, from the length it had to the longest length wanted', () => {
    const fetcher = new ChainFetcher({ ledger: {} as never, replication: {} as never }, { maxConcurrent: 0 })
    expect(fetcher.lag()).toEqual({ chainsBehind: 0, blocksBehind: 0 })
    fetcher.want('aa'.repeat(32), 10, 3)
    expect(fetcher.lag()).toEqual({ chainsBehind: 1, blocksBehind: 7 })
    fetcher.want('aa'.repeat(32), 12)
    expect(fetcher.lag()).toEqual({ chainsBehind: 1, blocksBehind: 9 })
    fetcher.want('bb'.repeat(32), 5, 0)
    expect(fetcher.lag()).toEqual({ chainsBehind: 2, blocksBehind: 14 })
  })
})
