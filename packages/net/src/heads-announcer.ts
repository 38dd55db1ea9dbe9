/**
 * The announce queue of the heads service: the heads of chains this node is
 * custodian of, batched.
 *
 *   announce(user) ─► queued (a set: one head per chain per batch)
 *                  ─► flushed after `flushMs`, or at once when
 *                     MAX_HEADS_PER_ANNOUNCEMENT chains are queued
 *                  ─► each chain's signed head read (only for a chain this
 *                     node can write, and not empty)
 *                  ─► observed here first (`observeOwn`: the head log then
 *                     serves it to heads-sync)
 *                  ─► published on the heads topic, at most
 *                     MAX_HEADS_PER_ANNOUNCEMENT heads an announcement
 *
 * Gossip reaches only the peers whose subscription the publisher knows,
 * and is not resent: a peer that has just connected or restarted misses
 * what was published before its subscription arrived, and would learn it
 * only at its next heads reconciliation (every 30 s by default). So the
 * chains announced in the last REANNOUNCE_WITHIN_MS are remembered (at
 * most MAX_REMEMBERED, the oldest forgotten first), and `reannounceRecent`
 * (called when a peer's subscription arrives) queues them again: their
 * heads as they are then, published to everyone, which costs the others a
 * head they already have. At most once every REANNOUNCE_SPACING_MS
 * (`requestReannounce`): a member that leaves and rejoins the topic over
 * and over makes this node read and send those heads no more often.
 */
import type { UserId } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import { headOf, type SignedHead } from './wire/head.js'
import { MAX_HEADS_PER_ANNOUNCEMENT, encodeHeadsAnnouncement } from './wire/heads-announcement.js'

export interface HeadsAnnouncerInit {
  readonly ledger: Ledger
  /** Publishes an encoded announcement on the heads topic. */
  readonly publish: (data: Uint8Array) => Promise<unknown>
  /** Longest wait before queued heads are published. */
  readonly flushMs: number
  /** Counters the announcer moves (the heads service's stats). */
  readonly stats: { announced: number, publishFailed: number }
  /** Each head before it is published, in order. */
  readonly observeOwn: (head: SignedHead) => Promise<void>
}

/** Chains announced this recently are announced again when a peer's subscription arrives. */
export const REANNOUNCE_WITHIN_MS = 10_000
/** Chains remembered as recently announced, at most. */
const MAX_REMEMBERED = 1_024
/** Least time between two announcements again. */
const REANNOUNCE_SPACING_MS = 1_000

export class HeadsAnnouncer {
  private readonly init: HeadsAnnouncerInit
  private readonly queued = new Set<UserId>()
  /** Chains announced lately, oldest first, with when (ms since the epoch). */
  private readonly recent = new Map<UserId, number>()
  private lastReannounce = 0
  private reannounceTimer: NodeJS.Timeout | undefined
  private flushTimer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private closing = false

  constructor (init: HeadsAnnouncerInit) {
    this.init = init
  }

  /** Queues the head of `user`'s chain for publication, if this node is its custodian (checked at flush). */
  announce (user: UserId): void {
    if (this.closing) return
    this.queued.add(user)
    if (this.queued.size >= MAX_HEADS_PER_ANNOUNCEMENT) this.flushNow()
    else this.flushTimer ??= setTimeout(() => { this.flushNow() }, this.init.flushMs)
  }

  private flushNow (): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const users = [...this.queued]
    this.queued.clear()
    this.flushing = this.flushing.then(async () => { await this.publishHeads(users) })
  }

  /**
   * Asks for the recent heads to be announced again (a peer's subscription just arrived): at once, or when
   * REANNOUNCE_SPACING_MS have passed since the last time; requests meanwhile are served by that one.
   */
  requestReannounce (): void {
    if (this.closing || this.reannounceTimer !== undefined) return
    const wait = Math.max(0, this.lastReannounce + REANNOUNCE_SPACING_MS - Date.now())
    this.reannounceTimer = setTimeout(() => {
      this.reannounceTimer = undefined
      this.lastReannounce = Date.now()
      this.reannounceRecent()
    }, wait)
    this.reannounceTimer.unref()
  }

  /**
   * Queues again every chain announced in the last REANNOUNCE_WITHIN_MS, for a peer whose subscription just arrived;
   * returns how many.
   */
  reannounceRecent (now = Date.now()): number {
    for (const [user, at] of this.recent) {
      if (at >= now - REANNOUNCE_WITHIN_MS) break
      this.recent.delete(user)
    }
    for (const user of this.recent.keys()) this.announce(user)
    return this.recent.size
  }

  private remember (user: UserId): void {
    this.recent.delete(user)
    this.recent.set(user, Date.now())
    if (this.recent.size > MAX_REMEMBERED) this.recent.delete(this.recent.keys().next().value!)
  }

  private async publishHeads (users: UserId[]): Promise<void> {
    const { ledger, stats } = this.init
    const heads: SignedHead[] = []
    for (const user of users) {
      try {
        const chain = await ledger.chain(user)
        if (!chain.writable || chain.length === 0) continue
        heads.push(await headOf(chain, ledger.crypto))
        this.remember(user)
      } catch {
        stats.publishFailed++
      }
    }
    for (const head of heads) await this.init.observeOwn(head)
    for (let i = 0; i < heads.length; i += MAX_HEADS_PER_ANNOUNCEMENT) {
      const batch = heads.slice(i, i + MAX_HEADS_PER_ANNOUNCEMENT)
      try {
        await this.init.publish(encodeHeadsAnnouncement({ v: 1, heads: batch }))
        stats.announced += batch.length
      } catch {
        stats.publishFailed++
      }
    }
  }

  /** Takes no more heads; publishes what is queued and waits for it. */
  async close (): Promise<void> {
    this.closing = true
    clearTimeout(this.reannounceTimer)
    if (this.queued.size > 0) this.flushNow()
    clearTimeout(this.flushTimer)
    await this.flushing
  }
}
