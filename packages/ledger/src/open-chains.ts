/**
 * The chains a ledger holds open in memory, and when each was last asked
 * for. An open core costs 20–30 KB, so a node holding many chains keeps
 * only the busy ones: `closeIdle` closes what nobody asked for lately,
 * `visit` closes after a pass what the pass alone opened, and the next
 * `ask` reopens a chain from disk.
 *
 * Every ask takes a ticket (a counter): a visit closes the chain it opened
 * only if nobody asked for it after the visit did.
 */
import type { UserId } from '@healthchain/core'
import type { UserChain } from './user-chain.js'

export type ChainOpenedListener = (user: UserId, chain: UserChain) => void

export class OpenChains {
  private readonly open = new Map<string, Promise<UserChain>>()
  /** The chain each of `open`'s promises gave, once it did. */
  private readonly resolved = new Map<string, UserChain>()
  /** When each open chain was last asked for, for closeIdle. */
  private readonly lastUsed = new Map<string, number>()
  /** The ticket of each open chain's last ask: a visit closes a chain only if nobody asked for it after it did. */
  private readonly lastAsk = new Map<string, number>()
  private asks = 0
  private readonly listeners = new Set<ChainOpenedListener>()

  /** Chains open (or opening) now. */
  get size (): number { return this.open.size }

  /**
   * The user's chain, open or being opened, else opened now with `open`;
   * counts as an ask (closeIdle keeps it, a visit under way leaves it open).
   */
  ask (user: UserId, open: () => Promise<UserChain>): Promise<UserChain> {
    let opening = this.open.get(user)
    if (opening === undefined) {
      opening = open()
      this.open.set(user, opening)
      const settling = opening
      settling.then((chain) => {
        if (this.open.get(user) === settling) this.resolved.set(user, chain)
        this.opened(user, chain)
      }, () => this.open.delete(user))
    }
    this.touch(user)
    return opening
  }

  /** A chain opened elsewhere (an enrolment), held open from now on as if just asked for. */
  add (user: UserId, chain: UserChain): void {
    this.open.set(user, Promise.resolve(chain))
    this.resolved.set(user, chain)
    this.touch(user)
    this.opened(user, chain)
  }

  /** The user's chain is now `chain` (it moved to a continuation core): the one open before is closed. */
  async replace (user: UserId, chain: UserChain): Promise<void> {
    const before = await this.open.get(user)?.catch(() => undefined)
    this.forget(user)
    this.add(user, chain)
    if (before !== undefined && before !== chain) await before.close()
  }

  private touch (user: UserId): void {
    this.lastUsed.set(user, Date.now())
    this.lastAsk.set(user, ++this.asks)
  }

  /**
   * Runs `fn` with the chain `ask` gives and, if the chain was not open
   * before and nobody asked for it while `fn` ran, closes it after.
   */
  async visit<T> (user: UserId, ask: () => Promise<UserChain>, fn: (chain: UserChain) => Promise<T>): Promise<T> {
    const wasOpen = this.open.has(user)
    const asking = ask()
    // Taken before any wait: whoever asks for the chain while it opens (and gets the same chain) moves the ticket on.
    const ticket = this.lastAsk.get(user)
    const chain = await asking
    try {
      return await fn(chain)
    } finally {
      if (!wasOpen) {
        const current = await this.open.get(user)?.catch(() => undefined)
        // Checked after the wait, right before forgetting: an ask in between keeps it open.
        if (current === chain && this.lastAsk.get(user) === ticket && chain.idle) {
          this.forget(user)
          await chain.close()
        }
      }
    }
  }

  /** See Ledger.onChainOpened. */
  onOpened (listener: ChainOpenedListener, opts: { alreadyOpen?: boolean } = {}): () => void {
    this.listeners.add(listener)
    if (opts.alreadyOpen === true) {
      for (const [user, opening] of this.open) {
        opening.then((chain) => {
          if (this.listeners.has(listener) && this.open.get(user) === opening) notify(listener, user as UserId, chain)
        }, () => {})
      }
    }
    return () => { this.listeners.delete(listener) }
  }

  private opened (user: UserId, chain: UserChain): void {
    // Hypercore closes every session of a core by itself when it finds a peer's
    // signed head conflicting with its tree (its `conflict` event): the next
    // ask opens it again from disk (frozen by hypercore, still readable)
    // instead of handing out a closed chain for ever.
    chain.onClosed(() => { this.forgetIf(user, chain) })
    for (const listener of this.listeners) notify(listener, user, chain)
  }

  /** Forgets `chain` if it is the user's chain held now (one Hypercore closed under it): the next ask opens it again. */
  forgetIf (user: UserId, chain: UserChain): void {
    if (this.resolved.get(user) === chain) this.forget(user)
  }

  private forget (user: string): void {
    this.open.delete(user)
    this.resolved.delete(user)
    this.lastUsed.delete(user)
    this.lastAsk.delete(user)
  }

  /** See Ledger.closeIdle. */
  async closeIdle (idleMs: number): Promise<number> {
    const before = Date.now() - idleMs
    let closed = 0
    for (const [user, opening] of [...this.open]) {
      if ((this.lastUsed.get(user) ?? 0) > before) continue
      const chain = await opening.catch(() => undefined)
      // Asked for again (or already replaced) while we waited, or busy: keep it.
      if (chain === undefined || !chain.idle || this.open.get(user) !== opening || (this.lastUsed.get(user) ?? 0) > before) continue
      this.forget(user)
      await chain.close()
      closed++
    }
    return closed
  }

  /** Closes every chain open (the ledger is closing). */
  async closeAll (): Promise<void> {
    const chains = await Promise.allSettled(this.open.values())
    for (const c of chains) if (c.status === 'fulfilled') await c.value.close()
  }
}

function notify (listener: ChainOpenedListener, user: UserId, chain: UserChain): void {
  try {
    listener(user, chain)
  } catch {
    // A listener's failure is its own: opening the chain went well.
  }
}
