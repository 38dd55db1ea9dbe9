/**
 * The steps of a LifecycleWorld as fast-check commands, and the property that
 * runs random sequences of them. Each command's `toString()` is the line of
 * code that replays it (`await w.exam('hospital-b', 0)`), so a shrunk
 * counterexample pastes into a plain test as it is printed. The world checks
 * the invariants after every step and once the network is quiet at the end.
 */
import fc from 'fast-check'
import type { Handover } from './lifecycle-custody.js'
import { LifecycleWorld, NO_COUNTS, NODES, type Examiner, type Grantee, type Lie, type NodeName, type WorldStats } from './lifecycle-world.js'
import type { Cleanup } from '@healthchain/net/testing'

type World = LifecycleWorld

/** One step: `check` says whether it may run in the model's state, `act` runs it on the world. */
class Step implements fc.AsyncCommand<World, World> {
  private readonly line: string
  private readonly may: (w: World) => boolean
  private readonly act: (w: World) => Promise<void>

  constructor (line: string, act: (w: World) => Promise<void>, may: (w: World) => boolean = () => true) {
    this.line = line
    this.act = act
    this.may = may
  }

  check (w: Readonly<World>): boolean { return this.may(w as World) }

  async run (_model: World, w: World): Promise<void> {
    await this.act(w)
    await w.checkStep()
  }

  toString (): string { return this.line }
}

const node = fc.constantFrom<NodeName>(...NODES)
const examiner = fc.constantFrom<Examiner>('hospital-a', 'hospital-b')
const grantee = fc.constantFrom<Grantee>('hospital-b', 'hospital-m')
const chain = fc.constantFrom(0, 1)
const handover = fc.constantFrom<Handover>('live', 'stopped', 'lost', 'suspended')
const lie = fc.constantFrom<Lie>('forged-grant', 'ungranted-recipient', 'backdated')

/** Every kind of step, weighted towards writes (a lie at most now and then: it ends honest writing on chain 0). */
export function lifecycleSteps (opts: { lies?: boolean } = {}): Array<fc.Arbitrary<fc.AsyncCommand<World, World>>> {
  const steps: Array<fc.Arbitrary<fc.AsyncCommand<World, World>>> = [
    fc.tuple(examiner, chain).map(([writer, i]) => new Step(`await w.exam('${writer}', ${i})`, async (w) => { await w.exam(writer, i) }, (w) => w.canWrite(i, writer))),
    fc.tuple(examiner, chain).map(([writer, i]) => new Step(`await w.exam('${writer}', ${i})`, async (w) => { await w.exam(writer, i) }, (w) => w.canWrite(i, writer))),
    chain.map((i) => new Step(`await w.exercise(${i})`, async (w) => { await w.exercise(i) }, (w) => w.canWrite(i))),
    fc.tuple(chain, grantee).map(([i, g]) => new Step(`await w.grant(${i}, '${g}')`, async (w) => { await w.grant(i, g) }, (w) => w.canWrite(i))),
    fc.tuple(chain, grantee).map(([i, g]) => new Step(`await w.revoke(${i}, '${g}')`, async (w) => { await w.revoke(i, g) }, (w) => w.canWrite(i))),
    fc.tuple(chain, fc.nat(16)).map(([i, pick]) => new Step(`await w.erase(${i}, ${pick})`, async (w) => { await w.erase(i, pick) }, (w) => w.canWrite(i))),
    fc.constant(new Step('await w.suspend()', async (w) => { await w.suspend() })),
    fc.constant(new Step('await w.reinstate()', async (w) => { await w.reinstate() })),
    examiner.map((who) => new Step(`await w.rotate('${who}')`, async (w) => { await w.rotate(who) })),
    fc.tuple(examiner, chain).map(([writer, i]) => new Step(`await w.staleExam('${writer}', ${i})`, async (w) => { await w.staleExam(writer, i) },
      (w) => w.canWrite(i, writer) && w.keys.rotatedOut(writer) !== undefined)),
    node.map((id) => new Step(`await w.idleClose('${id}')`, async (w) => { await w.idleClose(id) })),
    node.map((id) => new Step(`await w.restart('${id}')`, async (w) => { await w.restart(id) })),
    node.map((id) => new Step(`await w.isolate('${id}')`, async (w) => { await w.isolate(id) }, (w) => w.up.has(id) && w.up.size > 2)),
    node.map((id) => new Step(`await w.heal('${id}')`, async (w) => { await w.heal(id) }, (w) => !w.up.has(id))),
    fc.constant(new Step('await w.quiet()', async (w) => { await w.quiet() })),
    // Custody: a move to the other examiner, the old custodian writing on the core left, the user's key rotation and its stale key.
    fc.tuple(chain, handover).map(([i, how]) => new Step(`await w.transfer(${i}, '${how}')`, async (w) => { await w.transfer(i, how) }, (w) => w.custody.canTransfer(i, how))),
    chain.map((i) => new Step(`await w.rogue(${i})`, async (w) => { await w.rogue(i) }, (w) => w.custody.canRogue(i))),
    chain.map((i) => new Step(`await w.rekey(${i})`, async (w) => { await w.rekey(i) }, (w) => w.canWrite(i))),
    chain.map((i) => new Step(`await w.staleUserEntry(${i})`, async (w) => { await w.staleUserEntry(i) }, (w) => w.canWrite(i) && w.chains[i]!.generations.length > 1))
  ]
  if (opts.lies !== false) {
    // After an equivocation the liar's chain is frozen wherever the histories met: nothing more to lie on.
    // The liar lies on chain 0 while it keeps it (it has not moved).
    const keeps = (w: World): boolean => !w.chains[0]!.forked && w.chains[0]!.moved.length === 0
    steps.push(lie.map((kind) => new Step(`await w.lie('${kind}')`, async (w) => { await w.lie(kind) }, keeps)))
    // The twin starts with no registry: only the registry's host (hospital-a, the liar) can serve it one.
    steps.push(fc.constant(new Step('await w.equivocate()', async (w) => { await w.equivocate() }, (w) => keeps(w) && w.up.has('hospital-a'))))
  }
  return steps
}

/** What the steps of every sequence run so far added up to (the world's counters, summed), and how many sequences. */
export type LifecycleRunTotals = Omit<WorldStats, 'refused'> & { sequences: number }

const COUNTERS = [
  'steps', 'checks', 'acked', 'restarts', 'idleCloses', 'isolations', 'lies', 'equivocations', 'erasures', 'quiets', 'rotations', 'transfers', 'rogues', 'rekeys'
] as const

export function emptyTotals (): LifecycleRunTotals {
  return { sequences: 0, ...NO_COUNTS }
}

/**
 * The property: a fresh world, a random sequence of steps (each followed by
 * the step checks), then quiet (convergence and every check). Totals are
 * added to `totals`, for a run's report.
 */
export function lifecycleProperty (
  totals: LifecycleRunTotals,
  opts: { maxSteps: number, lies?: boolean, onSequence?: (world: LifecycleWorld, totals: LifecycleRunTotals) => void }
): fc.IAsyncPropertyWithHooks<[Iterable<fc.AsyncCommand<World, World>>]> {
  return fc.asyncProperty(fc.commands(lifecycleSteps(opts), { maxCommands: opts.maxSteps, size: 'max' }), async (commands) => {
    const cleanup: Cleanup = []
    try {
      const world = await LifecycleWorld.create(cleanup)
      try {
        await fc.asyncModelRun(() => ({ model: world, real: world }), commands)
        await world.quiet()
      } finally {
        totals.sequences++
        for (const counter of COUNTERS) totals[counter] += world.stats[counter]
        opts.onSequence?.(world, totals)
      }
    } finally {
      for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
    }
  })
}
