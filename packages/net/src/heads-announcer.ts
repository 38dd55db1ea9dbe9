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

export class HeadsAnnouncer {
  private readonly init: HeadsAnnouncerInit
  private readonly queued = new Set<UserId>()
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

  private async publishHeads (users: UserId[]): Promise<void> {
    const { ledger, stats } = this.init
    const heads: SignedHead[] = []
    for (const user of users) {
      try {
        const chain = await ledger.chain(user)
        if (!chain.writable || chain.length === 0) continue
        heads.push(await headOf(chain, ledger.crypto))
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
    if (this.queued.size > 0) this.flushNow()
    clearTimeout(this.flushTimer)
    await this.flushing
  }
}
