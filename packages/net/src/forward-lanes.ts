/**
 * Writes this node forwards to a chain's custodian and signs itself (an
 * examiner's exam written here), one at a time per chain.
 *
 * Why: a forwarded write first signs for the length of this node's replica,
 * which lags the custodian. Concurrent writes from here all started from
 * that same length and raced each other into STALE_POSITION, re-signing
 * each round; with ten at once, some ran out of retries (found by fuzzing
 * the HTTP API: 4 of 10 refused). In a lane, each write starts from the
 * position after the last one acknowledged here, so writes from this node
 * alone land first time; the retries are left for races with other nodes.
 *
 * A write that fails in a way its waiting successors would repeat (the
 * custodian cannot be reached, or does not answer in time: `sharesFailure`)
 * fails them at once with the same error, rather than making each wait out
 * its own time limit in turn.
 * A lane holds nothing once its last write ends.
 */

interface Lane {
  /** Settles when the lane's last write so far has ended: with its error if its successors should share it. */
  tail: Promise<{ shared: unknown } | undefined>
  /** The position after the last write acknowledged in this lane (0: none yet). */
  next: number
  pending: number
}

export interface ForwardLanesInit {
  /** Whether the writes waiting behind a write that failed with `err` should fail with it too. */
  readonly sharesFailure?: (err: unknown) => boolean
}

export class ForwardLanes {
  private readonly lanes = new Map<string, Lane>()
  private readonly sharesFailure: (err: unknown) => boolean

  constructor (init: ForwardLanesInit = {}) {
    this.sharesFailure = init.sharesFailure ?? (() => false)
  }

  /** Chains with writes waiting or under way (for tests and status). */
  get active (): number { return this.lanes.size }

  /**
   * Runs `write` after every earlier write of this lane has ended, passing
   * the position after the last one acknowledged here (0 if none was yet).
   */
  async run<T extends { readonly seq: number }> (lane: string, write: (next: number) => Promise<T>): Promise<T> {
    let state = this.lanes.get(lane)
    if (state === undefined) {
      state = { tail: Promise.resolve(undefined), next: 0, pending: 0 }
      this.lanes.set(lane, state)
    }
    const current = state
    current.pending++
    const before = current.tail
    let end!: (outcome: { shared: unknown } | undefined) => void
    current.tail = new Promise((resolve) => { end = resolve })
    let outcome: { shared: unknown } | undefined
    try {
      const previous = await before
      if (previous !== undefined) {
        outcome = previous
        throw previous.shared
      }
      const result = await write(current.next)
      current.next = Math.max(current.next, result.seq + 1)
      return result
    } catch (err) {
      if (outcome === undefined && this.sharesFailure(err)) outcome = { shared: err }
      throw err
    } finally {
      end(outcome)
      if (--current.pending === 0 && this.lanes.get(lane) === current) this.lanes.delete(lane)
    }
  }
}
