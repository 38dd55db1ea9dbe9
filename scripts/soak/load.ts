/**
 * The soak run's load: staff of both examiners log in, `users` users are
 * enrolled (half at hospital-a, half at hospital-b, keys made here), then
 * sealed exams (the benchmarks' exam, about 1.3 KB stored) are posted at a
 * steady `rate` a second, round robin over the users, each to the user's
 * custodian. The pace is kept by a clock (writes due = rate × elapsed), not
 * by waiting for answers; at most `maxInFlight` requests are outstanding, and
 * a write that would exceed that is counted as skipped (the nodes are not
 * keeping up). Staff log in again before their token expires.
 */
import { newRecoveryPhrase, userKeysFromPhrase, type InstitutionId, type UserId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { writeReplySchema } from '@healthchain/node/api'
import { ApiClient, ApiError, enrolUser, loginWithApiKey } from '@healthchain/node/cli'
import { benchExamPlain, benchExamSealed } from '../bench/fixtures.js'
import type { SoakNode } from './node-processes.js'

const TICK_MS = 50
const WRITE_TIMEOUT_MS = 30_000
/** Tokens last 15 minutes by default: log in again well before. */
const RELOGIN_EVERY_MS = 5 * 60_000

export interface LoadCounts {
  written: number
  failed: number
  skipped: number
  inFlight: number
  /** Failures by error code (or `network` for a request that got no answer). */
  readonly failures: Map<string, number>
}

interface Writer {
  readonly node: SoakNode
  client: ApiClient
  loggedInAt: number
}

export class SteadyLoad {
  readonly counts: LoadCounts = { written: 0, failed: 0, skipped: 0, inFlight: 0, failures: new Map() }
  private readonly targets: Array<{ writer: Writer, user: UserId }>
  private timer: NodeJS.Timeout | undefined
  private started = 0
  private issued = 0
  private readonly pending = new Set<Promise<void>>()

  private constructor (targets: Array<{ writer: Writer, user: UserId }>, private readonly rate: number, private readonly maxInFlight: number) {
    this.targets = targets
  }

  /** Logs staff in at both examiners and enrols the users. */
  static async prepare (nodes: readonly SoakNode[], opts: { users: number, rate: number, maxInFlight: number }): Promise<SteadyLoad> {
    const examiners = nodes.filter((n) => n.role === 'examiner')
    if (examiners.length === 0) throw new Error('no examiner among the nodes')
    const writers: Writer[] = []
    for (const node of examiners) {
      const { client } = await loginWithApiKey(new ApiClient(node.api, { timeoutMs: WRITE_TIMEOUT_MS }), node.apiKey)
      writers.push({ node, client, loggedInAt: Date.now() })
    }
    const targets: Array<{ writer: Writer, user: UserId }> = []
    for (let i = 0; i < opts.users; i++) {
      const writer = writers[i % writers.length]!
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      await enrolUser(writer.client, user, crypto, writer.node.name as InstitutionId)
      targets.push({ writer, user: user.userId })
    }
    return new SteadyLoad(targets, opts.rate, opts.maxInFlight)
  }

  start (): void {
    this.started = Date.now()
    this.timer = setInterval(() => { this.tick() }, TICK_MS)
  }

  /** Stops issuing writes and waits for those in flight. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    await Promise.allSettled([...this.pending])
  }

  private tick (): void {
    const due = Math.floor((Date.now() - this.started) / 1000 * this.rate)
    for (; this.issued < due; this.issued++) {
      if (this.counts.inFlight >= this.maxInFlight) {
        this.counts.skipped++
        continue
      }
      const target = this.targets[this.issued % this.targets.length]!
      const p = this.write(target.writer, target.user).finally(() => { this.pending.delete(p) })
      this.pending.add(p)
    }
  }

  private async write (writer: Writer, user: UserId): Promise<void> {
    this.counts.inFlight++
    try {
      if (Date.now() - writer.loggedInAt > RELOGIN_EVERY_MS) {
        writer.loggedInAt = Date.now() // one login at a time per node
        writer.client = (await loginWithApiKey(new ApiClient(writer.node.api, { timeoutMs: WRITE_TIMEOUT_MS }), writer.node.apiKey)).client
      }
      await writer.client.request('POST', `/v1/users/${user}/entries`, writeReplySchema, { body: { type: 'exam', plain: benchExamPlain, sealed: benchExamSealed } })
      this.counts.written++
    } catch (err) {
      this.counts.failed++
      const code = err instanceof ApiError ? err.code : (err as { code?: string }).code ?? 'network'
      this.counts.failures.set(code, (this.counts.failures.get(code) ?? 0) + 1)
    } finally {
      this.counts.inFlight--
    }
  }
}
