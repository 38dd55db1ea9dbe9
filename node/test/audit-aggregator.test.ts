/**
 * The audit aggregator on its own, in front of a real AuditLog on a clock
 * the test moves: which lines are written at once and which are counted,
 * the grouping by source (an IPv6 /64, a libp2p host), the bound on groups
 * per window, the network's refused connections, and that nothing counted
 * is lost when a write fails or the node stops.
 */
import Corestore from 'corestore'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuditAggregator, AuditLog, OTHER_SOURCES, auditNetworkLogins, type AuditLine, type AuditLineInput } from '../src/index.js'
import { fakeClock, makeTempDir, removeDir, type FakeClock } from './helpers/fixtures.js'
import { localCoresOf } from '@healthchain/ledger/testing'

let dir: string
let store: Corestore
let log: AuditLog
let clock: FakeClock
beforeEach(async () => {
  dir = await makeTempDir()
  store = new Corestore(dir)
  clock = fakeClock()
  log = await AuditLog.open(localCoresOf(store), { now: clock.now })
})
afterEach(async () => {
  await log.close()
  await store.close()
  await removeDir(dir)
})

const refusal = (from: string, code = 'MISSING_TOKEN', extra: Partial<AuditLineInput> = {}): AuditLineInput =>
  ({ actor: 'anonymous', action: 'read', target: 'user:x', from, result: 'refused', code, ...extra })
const unauthenticated = (answered = 'MISSING_TOKEN') => ({ unauthenticatedRefusal: { answered } })
const lines = async (): Promise<AuditLine[]> => (await log.read()).map((l) => l.line)
const countOf = (l: AuditLine): number => (l as AuditLine & { count?: number }).count ?? 1

describe('AuditAggregator', () => {
  it('writes granted lines, and refusals of authenticated callers, at once; counts repeated unauthenticated refusals', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 60_000, maxGroups: 100, now: clock.now })
    expect(await aggregator.append({ actor: 'key:0123456789abcdef', role: 'examiner', action: 'login', from: '10.0.0.1', result: 'granted' })).toBe(0)
    expect(await aggregator.append(refusal('10.0.0.1', 'FORBIDDEN', { actor: 'key:0123456789abcdef' }))).toBe(1)
    expect(await aggregator.append(refusal('10.0.0.1', 'FORBIDDEN', { actor: 'key:0123456789abcdef' }))).toBe(2)
    expect(await aggregator.append(refusal('10.0.0.1'), unauthenticated())).toBe(3)
    for (let i = 0; i < 1000; i++) expect(await aggregator.append(refusal('10.0.0.1'), unauthenticated())).toBeUndefined()
    expect(log.length).toBe(4)
    await aggregator.flush()
    expect((await lines()).at(-1)).toMatchObject({ from: '10.0.0.1', code: 'MISSING_TOKEN', count: 1000, target: 'user:x', actor: 'anonymous' })
  })

  it('groups an IPv6 /64 as one source, and a libp2p host whatever its port', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 60_000, maxGroups: 100, now: clock.now })
    for (let i = 1; i <= 50; i++) await aggregator.append(refusal(`2001:db8:1:2::${i.toString(16)}`), unauthenticated())
    for (let port = 40000; port < 40050; port++) {
      await aggregator.append(refusal(`/ip4/10.1.2.3/tcp/${port}`, 'NOT_ADMITTED', { action: 'login', target: 'p2p' }), unauthenticated('NOT_ADMITTED'))
    }
    await aggregator.flush()
    expect((await lines()).map((l) => [l.from, countOf(l)])).toEqual([
      ['2001:db8:1:2::1', 1], ['/ip4/10.1.2.3/tcp/40000', 1], ['2001:db8:1:2::/64', 49], ['/ip4/10.1.2.3', 49]
    ])
  })

  it('groups by the code the caller was told, and writes each real reason\'s count', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 60_000, maxGroups: 100, now: clock.now })
    const login = (code: string) => refusal('10.0.0.9', code, { action: 'login', target: undefined, actor: 'anonymous' })
    await aggregator.append(login('BAD_SIGNATURE'), unauthenticated('LOGIN_REFUSED'))
    // Not a line of its own: an unknown user's refusal must not be told apart from a wrong signature's by its cost.
    expect(await aggregator.append(login('UNKNOWN_USER'), unauthenticated('LOGIN_REFUSED'))).toBeUndefined()
    await aggregator.append(login('UNKNOWN_USER'), unauthenticated('LOGIN_REFUSED'))
    await aggregator.append(login('BAD_SIGNATURE'), unauthenticated('LOGIN_REFUSED'))
    await aggregator.flush()
    expect((await lines()).map((l) => [l.code, countOf(l)])).toEqual([['BAD_SIGNATURE', 1], ['UNKNOWN_USER', 2], ['BAD_SIGNATURE', 1]])
  })

  it('tracks at most maxGroups groups a window; refusals of further sources are counted under one line per action and code', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 60_000, maxGroups: 10, now: clock.now })
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) await aggregator.append(refusal(`10.0.${i >> 8}.${i & 255}`), unauthenticated())
    }
    await aggregator.flush()
    const written = await lines()
    expect(written.length).toBe(10 + 10 + 1)
    expect(written.filter((l) => l.from === OTHER_SOURCES)).toEqual([expect.objectContaining({ count: 3 * 990, code: 'MISSING_TOKEN' })])
    expect(written.reduce((sum, l) => sum + countOf(l), 0)).toBe(3000)
  })

  it('ends a window on its own timer, and on close; a new window writes a source\'s first refusal at once again', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 50, maxGroups: 10, now: clock.now })
    aggregator.start()
    for (let i = 0; i < 3; i++) await aggregator.append(refusal('10.0.0.1'), unauthenticated())
    const { waitUntil } = await import('./helpers/daemons.js')
    await waitUntil(() => log.length === 2, 'the window to end')
    expect(await aggregator.append(refusal('10.0.0.1'), unauthenticated())).toBe(2)
    await aggregator.append(refusal('10.0.0.1'), unauthenticated())
    await aggregator.close()
    expect((await lines()).map(countOf)).toEqual([1, 2, 1, 1])
  })

  it('keeps the counts of an aggregate line it could not write, and writes them with the next window', async () => {
    let failing = true
    const sink = { append: async (line: AuditLineInput) => { if (failing && 'count' in line) throw new Error('disk full'); return await log.append(line) } }
    const errors: unknown[] = []
    const aggregator = new AuditAggregator(sink, { windowMs: 60_000, maxGroups: 10, now: clock.now, onError: (err) => { errors.push(err) } })
    for (let i = 0; i < 5; i++) await aggregator.append(refusal('10.0.0.1'), unauthenticated())
    await aggregator.flush()
    expect(errors).toHaveLength(1)
    expect(log.length).toBe(1)
    failing = false
    await aggregator.flush()
    expect((await lines()).map(countOf)).toEqual([1, 4])
  })

  it('the network\'s refused connections: one host\'s, counted; a phone\'s granted login, its own line', async () => {
    const aggregator = new AuditAggregator(log, { windowMs: 60_000, maxGroups: 10, now: clock.now })
    const observe = auditNetworkLogins(aggregator)
    const user = 'utbpdiluqfnb42sa2bkxdhckfsm3f5kw'
    observe({ peer: '12D3KooWA', remote: '/ip4/127.0.0.1/tcp/50001', admitted: 'light', user: user as never })
    for (let i = 0; i < 1000; i++) observe({ peer: `12D3KooW${i}`, remote: `/ip4/10.9.9.9/tcp/${20000 + i}`, admitted: false, reason: 'NOT_ADMITTED' })
    for (let i = 0; i < 20; i++) observe({ remote: `/ip4/10.9.9.9/tcp/${30000 + i}`, admitted: false, reason: 'RATE_LIMITED' })
    const { waitUntil } = await import('./helpers/daemons.js')
    await waitUntil(() => log.length === 3, 'the first lines to be written')
    await aggregator.flush()
    expect((await lines()).map((l) => [l.actor, l.result, l.code, l.from, countOf(l)])).toEqual([
      [`user:${user}`, 'granted', undefined, '/ip4/127.0.0.1/tcp/50001', 1],
      ['anonymous', 'refused', 'NOT_ADMITTED', '/ip4/10.9.9.9/tcp/20000', 1],
      ['anonymous', 'refused', 'RATE_LIMITED', '/ip4/10.9.9.9/tcp/30000', 1],
      ['anonymous', 'refused', 'NOT_ADMITTED', '/ip4/10.9.9.9', 999],
      ['anonymous', 'refused', 'RATE_LIMITED', '/ip4/10.9.9.9', 19]
    ])
  })
})
