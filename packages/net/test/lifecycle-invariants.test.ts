/**
 * The promises as invariants over random lives of a small consortium (see
 * helpers/lifecycle-world.ts for the world, its steps and what each
 * invariant means): honest writes by every role, lies by a custodian, grants
 * and revocations, suspensions, examiners' key rotations, custody moves (and
 * a custodian writing on the core a chain left), users' key rotations, erasures, idle
 * closes, restarts, isolation and healing, equivocation — checked after every step and once the network is quiet. A
 * failure shrinks to a minimal sequence, printed as code that replays it.
 *
 * CI runs a bounded number of sequences (HEALTHCHAIN_LIFECYCLE_RUNS, default
 * 12, with a fixed seed by default so CI is repeatable; set
 * HEALTHCHAIN_LIFECYCLE_SEED to another one to explore). `npm run
 * invariants -- --minutes N` runs them for as long as asked.
 */
import fc from 'fast-check'
import { buildErasure } from '@healthchain/core'
import { crypto } from '@healthchain/net/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { emptyTotals, lifecycleProperty } from './helpers/lifecycle-commands.js'
import { LifecycleWorld, type NodeName } from './helpers/lifecycle-world.js'
import type { Cleanup } from '@healthchain/net/testing'

const RUNS = Number(process.env.HEALTHCHAIN_LIFECYCLE_RUNS ?? 12)
const SEED = Number(process.env.HEALTHCHAIN_LIFECYCLE_SEED ?? 20261206)

const cleanup: Cleanup = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

describe('the promises across a consortium\'s life', () => {
  it('hold over random sequences of steps (invariants after every step, and once quiet)', async () => {
    const totals = emptyTotals()
    await fc.assert(lifecycleProperty(totals, { maxSteps: 20 }), { numRuns: RUNS, seed: SEED })
    console.info(`lifecycle invariants: ${totals.sequences} sequences, ${totals.steps} steps, ${totals.checks} invariant checks, ${totals.acked} writes acknowledged, ${totals.restarts} restarts, ${totals.idleCloses} idle closes, ${totals.isolations} isolations, ${totals.lies} lies, ${totals.equivocations} equivocations, ${totals.erasures} erasures, ${totals.rotations} key rotations, ${totals.transfers} transfers, ${totals.rogues} rogue appends, ${totals.rekeys} user rekeys`)
    expect(totals.sequences).toBe(RUNS)
    expect(totals.checks).toBeGreaterThan(RUNS)
  }, 600_000)

  // Sequences that found holes, kept as plain tests.
  it('a forged grant stays refused after an idle close and a restart of every replica', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.lie('forged-grant')
    await w.lie('ungranted-recipient')
    await w.checkStep()
    for (const id of ['hospital-b', 'regulator'] as NodeName[]) await w.idleClose(id)
    await w.checkStep()
    for (const id of ['hospital-b', 'regulator'] as NodeName[]) await w.restart(id)
    await w.quiet()
  }, 120_000)

  it('an erasure does not stop replication, and nobody gets the erased data back', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.exam('hospital-b', 0)
    await w.isolate('hospital-b')
    await w.erase(0, 0)
    await w.exercise(0)
    await w.checkStep()
    await w.heal('hospital-b')
    await w.exam('hospital-a', 0)
    await w.quiet()
  }, 120_000)

  it('a chain closed when idle while a fetch waits on it still reaches the replica', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.isolate('hospital-a')
    await w.quiet()
    await w.grant(0, 'hospital-b')
    await w.idleClose('hospital-b')
    await w.quiet()
  }, 120_000)

  it('a node restarted while the registry changed gets the change', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.suspend()
    await w.isolate('hospital-b')
    await w.reinstate()
    await w.restart('hospital-b')
    await w.exam('hospital-b', 0)
    await w.quiet()
  }, 120_000)

  it('a custodian that signs two histories at two lengths is flagged by every node, even one that was away', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.isolate('regulator')
    await w.equivocate()
    await w.checkStep()
    await w.restart('hospital-b')
    await w.quiet()
  }, 120_000)

  it('an examiner whose keys rotate writes with the new generation; its rotated-out key is refused; its old exams still open', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-b', 1)
    await w.exam('hospital-b', 0)
    await w.grant(1, 'hospital-b')
    await w.rotate('hospital-b')
    await w.staleExam('hospital-b', 1)
    await w.staleExam('hospital-b', 0)
    await w.isolate('hospital-b')
    await w.rotate('hospital-b')
    await w.exam('hospital-b', 1)
    await w.heal('hospital-b')
    await w.quiet()
    await w.exam('hospital-b', 1)
    await w.exam('hospital-a', 1)
    await w.staleExam('hospital-b', 1)
    await w.restart('regulator')
    await w.quiet()
    expect(w.stats.rotations).toBe(2)
    // The three exams signed with a rotated-out key were refused (an acknowledged one fails the step); nothing else was.
    expect((w.stats.refused.get('BAD_SIGNATURE') ?? 0) + (w.stats.refused.get('REGISTRY_BEHIND') ?? 0)).toBeGreaterThanOrEqual(3)
  }, 120_000)

  it('a chain moves with its old custodian up, stopped, lost or suspended; nothing acknowledged is lost; an append past N is flagged everywhere', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.grant(0, 'hospital-b')
    await w.transfer(0, 'live')
    await w.exam('hospital-b', 0)
    await w.exam('hospital-a', 0)
    await w.transfer(1, 'stopped')
    await w.exercise(1)
    await w.heal('hospital-b')
    // Moved twice while hospital-b is away for good: back with an empty directory, it follows to the latest core.
    await w.transfer(0, 'lost')
    await w.exam('hospital-a', 0)
    await w.quiet()
    await w.transfer(0, 'live')
    await w.transfer(0, 'suspended')
    await w.rogue(0)
    await w.erase(0, 0)
    await w.quiet()
    expect(w.stats.transfers).toBe(5)
    expect(w.stats.rogues).toBe(1)
    expect(w.chains[0]!.moved.length).toBe(4)
  }, 180_000)

  it('a replica away while its chain moved and the old custodian wrote past N serves nothing of the old core beyond N once back', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.isolate('regulator')
    await w.transfer(1, 'live')
    await w.rogue(1)
    await w.erase(0, 0)
    await w.quiet()
  }, 120_000)

  // Found by the random runs (seed 1): the follow waited for every block up to the migrate, and nobody serves the cleared one.
  it('a replica away while its chain moved follows it after an erasure below N', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exercise(1)
    await w.transfer(1, 'stopped')
    // Erases the exercise at position 1 (below N = 2) in the continuation, while hospital-b is still on the old core.
    await (w as unknown as { userEntry: (c: unknown, e: unknown) => Promise<number | undefined> }).userEntry(w.chains[1], buildErasure([1], {}, crypto))
    w.chains[1]!.erased.set(1, 3)
    await w.restart('hospital-b')
    await w.quiet()
  }, 120_000)

  // A node back with an empty directory may take the chain from an older core and hear the rogue head before the move.
  it('a node back with a lost directory serves nothing of a closed core beyond N', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.transfer(0, 'live')
    await w.rogue(0)
    await w.transfer(1, 'live')
    await w.transfer(0, 'lost')
    await w.quiet()
  }, 120_000)

  it('a user who rotates keys writes with the new generation, across a move too; the rotated-out key is refused; old seals still open', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-a', 0)
    await w.rekey(0)
    await w.staleUserEntry(0)
    await w.exam('hospital-b', 0)
    await w.grant(0, 'hospital-m')
    await w.transfer(0, 'live')
    await w.staleUserEntry(0)
    await w.rekey(0)
    await w.exercise(0)
    await w.exam('hospital-b', 0)
    await w.staleUserEntry(0)
    await w.quiet()
    expect(w.stats.rekeys).toBe(2)
    expect(w.chains[0]!.generations.length).toBe(3)
    // The three entries signed with a rotated-out generation were refused (an acknowledged one fails the step).
    expect(w.stats.refused.get('BAD_SIGNATURE') ?? 0).toBeGreaterThanOrEqual(3)
  }, 120_000)

  it('writes a custodian made while cut off reach every replica once it is back, and lag is reported until then', async () => {
    const w = await LifecycleWorld.create(cleanup)
    await w.exam('hospital-b', 1)
    await w.isolate('hospital-b')
    await w.exam('hospital-b', 1)
    await w.exercise(1)
    await w.restart('hospital-b')
    await w.quiet()
  }, 120_000)
})
