/**
 * ForwardLanes: writes of one lane run one at a time, in order, each given
 * the position after the last acknowledged one; lanes do not wait for each
 * other; a failure is its own unless it is one to share, which fails the
 * writes waiting behind it at once; an idle lane holds nothing.
 */
import { describe, expect, it } from 'vitest'
import { ForwardLanes } from '../src/testing/internals.js'

function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

describe('forward lanes', () => {
  it('runs one lane\'s writes one at a time, in order, each from the position after the last acknowledged', async () => {
    const lanes = new ForwardLanes()
    const log: string[] = []
    let running = 0
    let most = 0
    const write = (name: string, seq: number) => async (next: number) => {
      running++
      most = Math.max(most, running)
      log.push(`${name}@${next}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
      running--
      return { seq }
    }
    const results = await Promise.all([
      lanes.run('chain', write('a', 10)), lanes.run('chain', write('b', 11)), lanes.run('chain', write('c', 12))
    ])
    expect(results.map((r) => r.seq)).toEqual([10, 11, 12])
    expect(log).toEqual(['a@0', 'b@11', 'c@12'])
    expect(most).toBe(1)
    expect(lanes.active).toBe(0)
  })

  it('lanes do not wait for each other', async () => {
    const lanes = new ForwardLanes()
    const held = gate()
    const slow = lanes.run('one', async () => { await held.promise; return { seq: 1 } })
    expect(await lanes.run('two', async () => ({ seq: 5 }))).toEqual({ seq: 5 })
    expect(lanes.active).toBe(1)
    held.open()
    await slow
    expect(lanes.active).toBe(0)
  })

  it('a failure is the failed write\'s alone; one to share fails the writes waiting behind it at once', async () => {
    const lanes = new ForwardLanes({ sharesFailure: (err) => (err as Error).message === 'unreachable' })
    const own = lanes.run('chain', async () => { throw new Error('refused') })
    const after = lanes.run('chain', async (next) => ({ seq: 7, next }))
    await expect(own).rejects.toThrow('refused')
    expect(await after).toEqual({ seq: 7, next: 0 })

    let tried = 0
    const first = lanes.run('chain', async () => { tried++; throw new Error('unreachable') })
    const second = lanes.run('chain', async () => { tried++; return { seq: 9 } })
    const third = lanes.run('chain', async () => { tried++; return { seq: 10 } })
    await expect(first).rejects.toThrow('unreachable')
    await expect(second).rejects.toThrow('unreachable')
    await expect(third).rejects.toThrow('unreachable')
    expect(tried).toBe(1)
    // Once the lane has drained, a new write tries again (the custodian may be back).
    expect(await lanes.run('chain', async (next) => ({ seq: 11, next }))).toEqual({ seq: 11, next: 0 })
    expect(lanes.active).toBe(0)
  })
})
