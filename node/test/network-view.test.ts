/**
 * The network view's arithmetic, on stand-ins for the ledger and the network
 * node (the real ones are console-reads.test.ts's): replication lag split by
 * custodian over the chains behind only, the custodian census carried on
 * across views as chains are added, and the heads counters flattened.
 */
import { describe, expect, it } from 'vitest'
import { bytesToHex, type InstitutionId, type UserId } from '@healthchain/core'
import { createNetworkService, flattenCounters, type NetworkServiceComponents } from '../src/services/network.js'

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const user = (n: number): UserId => `user${'a'.repeat(27)}${String.fromCharCode(97 + n)}` as UserId

interface Held { readonly user: UserId, readonly key: Uint8Array, readonly custodian: string }

function components (held: Held[], opts: { behind?: Array<{ keyHex: string, blocks: number }>, opened?: UserId[] } = {}): NetworkServiceComponents {
  const institutions = [
    { id: 'hospital-a', name: 'Hospital A', role: 'examiner', status: 'active', peer: 'peer-a' },
    { id: 'hospital-b', name: 'Hospital B', role: 'examiner', status: 'active', peer: 'peer-b' },
    { id: 'regulator-r', name: 'Regulator', role: 'regulator', status: 'suspended', peer: undefined }
  ]
  const ledger = {
    registry: { state: { institutions: () => institutions } },
    users: () => held.map((h) => h.user),
    get chainCount () { return held.length },
    userOfChain: (k: Uint8Array) => held.find((h) => bytesToHex(h.key) === bytesToHex(k))?.user,
    withChain: async (u: UserId, fn: (chain: unknown) => Promise<unknown>) => {
      opts.opened?.push(u)
      return await fn({ user: { custodian: held.find((h) => h.user === u)!.custodian } })
    }
  }
  const network = {
    peerId: 'peer-self',
    status: () => ({
      peers: ['peer-b'],
      forkedChains: [],
      replicationLag: { chainsBehind: opts.behind?.length ?? 0, blocksBehind: (opts.behind ?? []).reduce((s, b) => s + b.blocks, 0) },
      heads: { received: 4, fetch: { fetched: 2, failed: new Map([['TIMEOUT', 1], ['NO_PEER', 2]]) }, dropped: { get log () { return 5 } } }
    }),
    chainsBehind: () => opts.behind ?? [],
    heads: { forkOf: () => undefined },
    witness: undefined
  }
  return { ledger, network, self: { name: 'hospital-c' as InstitutionId, role: 'examiner' } } as unknown as NetworkServiceComponents
}

async function settledView (service: ReturnType<typeof createNetworkService>): Promise<Awaited<ReturnType<typeof service.view>>> {
  for (let i = 0; i < 100; i++) {
    const view = await service.view()
    if (view.census.counted === view.census.held) return view
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error('the census did not finish')
}

describe('the network view', () => {
  it('splits the lag by the custodian of each chain behind, opening only those; a chain not held yet counts in the total only', async () => {
    const held = [
      { user: user(0), key: key(1), custodian: 'hospital-a' },
      { user: user(1), key: key(2), custodian: 'hospital-b' },
      { user: user(2), key: key(3), custodian: 'hospital-a' }
    ]
    const opened: UserId[] = []
    const behind = [{ keyHex: bytesToHex(key(1)), blocks: 4 }, { keyHex: bytesToHex(key(3)), blocks: 1 }, { keyHex: bytesToHex(key(9)), blocks: 7 }]
    const service = createNetworkService(components(held, { behind, opened }))
    const view = await settledView(service)
    const row = (id: string) => view.institutions.find((i) => i.id === id)!
    expect(row('hospital-a').behind).toEqual({ chains: 2, blocks: 5 })
    expect(row('hospital-b').behind).toEqual({ chains: 0, blocks: 0 })
    expect(view.lag).toEqual({ chainsBehind: 3, blocksBehind: 12 })
    expect(row('hospital-a').custodianOf).toBe(2)
    expect(row('hospital-b').custodianOf).toBe(1)
    expect(row('hospital-b').connected).toBe(true)
    expect(row('hospital-a').connected).toBe(false)
    expect(row('regulator-r')).toMatchObject({ peerId: null, connected: false, status: 'suspended' })
    expect(view.self).toEqual({ name: 'hospital-c', role: 'examiner', peerId: 'peer-self' })
    expect(view.witness).toBeNull()
    await service.close()
  })

  it('counts each chain\'s custodian once, and carries the census on to chains added later', async () => {
    const held = [{ user: user(0), key: key(1), custodian: 'hospital-a' }]
    const opened: UserId[] = []
    const service = createNetworkService(components(held, { opened }))
    expect((await settledView(service)).census).toEqual({ counted: 1, held: 1 })
    held.push({ user: user(1), key: key(2), custodian: 'hospital-b' }, { user: user(2), key: key(3), custodian: 'hospital-b' })
    const view = await settledView(service)
    expect(view.census).toEqual({ counted: 3, held: 3 })
    expect(view.institutions.find((i) => i.id === 'hospital-b')!.custodianOf).toBe(2)
    expect(view.institutions.find((i) => i.id === 'hospital-a')!.custodianOf).toBe(1)
    // Once each, however many views.
    await service.view()
    expect(opened.sort()).toEqual(held.map((h) => h.user).sort())
    await service.close()
  })

  it('flattens the heads counters by dotted name, a Map by its keys and its total', async () => {
    const service = createNetworkService(components([]))
    expect((await service.view()).heads).toEqual({
      received: 4, 'fetch.fetched': 2, 'fetch.failed': 3, 'fetch.failed.TIMEOUT': 1, 'fetch.failed.NO_PEER': 2, 'dropped.log': 5
    })
    expect(flattenCounters({ a: { b: { c: 1 } }, s: 'text', n: null })).toEqual({ 'a.b.c': 1 })
    await service.close()
  })
})
