/**
 * The announcer's memory of recently announced chains, and how often it
 * announces them again: bounded in size, in age, and in rate, whatever a
 * member that leaves and rejoins the heads topic makes it do. The network
 * side (a replica back on the topic catches up) is in heads-gossip.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { REANNOUNCE_WITHIN_MS } from '@healthchain/net'
import { waitFor } from '@healthchain/net/testing'
import { HeadsAnnouncer } from '../src/heads-announcer.js'

const announcers: HeadsAnnouncer[] = []
afterEach(async () => { for (const a of announcers.splice(0)) await a.close() })

/** An announcer whose `announce` only counts (no ledger behind it), with `users` remembered as announced just now. */
function announcerWith (users: number): { announcer: HeadsAnnouncer, announced: UserId[] } {
  const announcer = new HeadsAnnouncer({
    ledger: {} as Ledger, publish: async () => {}, flushMs: 10, stats: { announced: 0, publishFailed: 0 }, observeOwn: async () => {}
  })
  announcers.push(announcer)
  const announced: UserId[] = []
  vi.spyOn(announcer, 'announce').mockImplementation((user) => { announced.push(user) })
  const remember = (announcer as unknown as { remember: (u: UserId) => void }).remember.bind(announcer)
  for (let i = 0; i < users; i++) remember(`user-${i}` as UserId)
  return { announcer, announced }
}

describe('announcing recent heads again', () => {
  it('remembers at most 1,024 chains, the newest, and each once however often announced', () => {
    const { announcer, announced } = announcerWith(1_100)
    expect(announcer.reannounceRecent()).toBe(1_024)
    expect(announced).toHaveLength(1_024)
    expect(announced[0]).toBe('user-76')
    expect(announced.at(-1)).toBe('user-1099')
    const again = announcerWith(0)
    const remember = (again.announcer as unknown as { remember: (u: UserId) => void }).remember.bind(again.announcer)
    for (let i = 0; i < 10; i++) remember('same' as UserId)
    expect(again.announcer.reannounceRecent()).toBe(1)
  })

  it('forgets chains announced longer ago than the window', () => {
    const { announcer, announced } = announcerWith(3)
    expect(announcer.reannounceRecent(Date.now() + REANNOUNCE_WITHIN_MS + 1)).toBe(0)
    expect(announced).toEqual([])
    // Forgotten for good, not only skipped.
    expect(announcer.reannounceRecent()).toBe(0)
  })

  it('announces again at most once a second, however many subscriptions arrive', async () => {
    const { announcer } = announcerWith(2)
    const runs = vi.spyOn(announcer, 'reannounceRecent')
    for (let i = 0; i < 50; i++) announcer.requestReannounce()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(runs).toHaveBeenCalledTimes(1)
    for (let i = 0; i < 50; i++) announcer.requestReannounce()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(runs).toHaveBeenCalledTimes(1)
    // The second comes, once, a second after the first (later on a loaded machine: timers only ever run late).
    await waitFor(() => runs.mock.calls.length === 2, 'the second announcement again', 5_000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(runs).toHaveBeenCalledTimes(2)
  })

  it('does nothing once closed', async () => {
    const { announcer } = announcerWith(2)
    const runs = vi.spyOn(announcer, 'reannounceRecent')
    await announcer.close()
    announcer.requestReannounce()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(runs).not.toHaveBeenCalled()
  })
})
