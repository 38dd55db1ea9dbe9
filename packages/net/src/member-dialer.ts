/**
 * Keeps this node connected to the consortium: every active member the
 * registry lists with addresses is dialled when the node starts, whenever
 * the registry changes, and every `intervalMs` while it is not connected —
 * so after a restart or a healed partition nodes find each other again
 * without an operator. Failures are expected (a member may be down) and
 * only counted. The membership gate still decides every connection.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Ledger } from '@healthchain/ledger'
import type { Host } from './host.js'
import type { MembershipGate } from './membership-gate.js'

export interface MemberDialerInit {
  readonly host: Host
  readonly ledger: Ledger
  readonly gate: MembershipGate
}

export class MemberDialer {
  private readonly host: Host
  private readonly ledger: Ledger
  private readonly gate: MembershipGate
  private readonly intervalMs: number
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private running: Promise<void> | undefined
  private readonly controller = new AbortController()
  /** Dial attempts that failed (members down or unreachable). */
  failures = 0

  constructor (init: MemberDialerInit, opts: { intervalMs: number }) {
    this.host = init.host
    this.ledger = init.ledger
    this.gate = init.gate
    this.intervalMs = opts.intervalMs
  }

  start (): void {
    if (this.intervalMs <= 0) return
    this.unsubscribe = this.gate.onChange(() => { this.kick() })
    this.timer = setInterval(() => { this.kick() }, this.intervalMs)
    this.timer.unref()
    this.kick()
  }

  private kick (): void {
    if (this.running !== undefined || this.controller.signal.aborted) return
    this.running = this.dialMissing().finally(() => { this.running = undefined })
  }

  private async dialMissing (): Promise<void> {
    if (!this.ledger.hasRegistry) return
    const self = this.host.peerId.toString()
    const connected = new Set(this.host.getConnections().map((c) => c.remotePeer.toString()))
    const missing = this.ledger.registry.state.institutions().filter((r) =>
      r.status === 'active' && r.peer !== undefined && r.peer !== self && r.addrs.length > 0 && !connected.has(r.peer) && this.gate.admits(r.peer))
    await Promise.all(missing.map(async (member) => {
      for (const address of member.addrs) {
        if (this.controller.signal.aborted) return
        try {
          await this.host.dial(multiaddr(`${address}/p2p/${member.peer!}`), { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(5_000)]) })
          return
        } catch {
          this.failures++
        }
      }
    }))
  }

  async stop (): Promise<void> {
    this.controller.abort()
    clearInterval(this.timer)
    this.unsubscribe?.()
    await this.running
  }
}
