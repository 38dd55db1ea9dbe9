/**
 * Repeated refusals, counted instead of written one by one, so that one
 * outsider cannot fill the disk through the audit log.
 *
 * Flow. Every line goes through `append`:
 *
 * - granted lines, and refusals of callers who proved who they are (a
 *   valid token): written at once, as always — they are accountable, and
 *   the per-source rate limits bound how many they make;
 * - a refusal of a caller who proved nothing (AuditAppendOptions
 *   `unauthenticatedRefusal`: no valid token, a refused login, a refused
 *   connection) belongs to a group — its source (audit-source.ts), its
 *   action, and the code the caller was told. The group's first refusal in
 *   a window is written at once, on its own line, before the answer goes
 *   out (so a lone mistake reads as it did before); the rest are counted,
 *   per real reason (a group answered LOGIN_REFUSED holds UNKNOWN_USER and
 *   BAD_SIGNATURE refusals: grouped by what the caller saw, so whether a
 *   line was written — a measurable wait — tells nothing they were not
 *   told);
 * - at most `maxGroups` groups are tracked a window; refusals of any further
 *   source are counted under one group per action and code whose source is
 *   OTHER_SOURCES (a flood from many addresses stays bounded as well).
 *
 * When a window ends (`flush`: every `windowMs` once started, and on close)
 * each count becomes one line `{ …, from: source, code, count, since }`
 * (audit-line.ts), actor, role and target kept when all refusals counted
 * had the same, and the groups start afresh. So a window adds at most
 * about two lines per group (one per real reason behind a code, and the
 * first refusal's), whatever the flood, and every refusal is accounted for:
 * on a line of its own, or in a count. A count line that cannot be written
 * is kept and tried again at the next window. What is counted lives in
 * memory until its window ends: a process killed outright loses at most
 * one window's counts (a clean stop writes them).
 */
import { NodeError } from '../errors.js'
import type { Role } from '@healthchain/core'
import type { AuditAction, AuditLineInput } from './audit-line.js'
import type { AuditAppendOptions, AuditSink } from './audit-sink.js'
import { auditSourceOf } from './audit-source.js'

/** The source of refusals counted once `maxGroups` groups are tracked in a window. */
export const OTHER_SOURCES = '(other sources)'

export interface AuditAggregatorInit {
  /** How long a window lasts, in ms. */
  readonly windowMs: number
  /** Groups (source, action, code answered) tracked a window; refusals beyond them are counted under OTHER_SOURCES. */
  readonly maxGroups: number
  /** Milliseconds since the epoch (a count's `since`); injectable for tests. */
  readonly now?: () => number
  /** Told when a count line cannot be written (it is kept for the next window). Never given a line's content. */
  readonly onError?: (err: unknown) => void
}

/** Where the lines end up: the AuditLog. */
export interface AuditLineWriter {
  append (line: AuditLineInput): Promise<number>
}

/** Refusals counted for one real reason within a group. */
interface Tally {
  count: number
  readonly since: number
  /** The actor, role and target every refusal counted had; undefined once two differed. */
  actor: string | undefined
  role: Role | undefined
  target: string | undefined
}

interface Group {
  readonly source: string
  readonly action: AuditAction
  /** By the code written on the lines (the real reason). */
  readonly tallies: Map<string, Tally>
}

export class AuditAggregator implements AuditSink {
  private readonly log: AuditLineWriter
  private readonly windowMs: number
  private readonly maxGroups: number
  private readonly now: () => number
  private readonly onError: (err: unknown) => void
  private groups = new Map<string, Group>()
  /** Count lines a flush could not write, tried again at the next. */
  private carried: AuditLineInput[] = []
  private timer: ReturnType<typeof setInterval> | undefined
  private closed = false

  constructor (log: AuditLineWriter, init: AuditAggregatorInit) {
    if (!Number.isSafeInteger(init.windowMs) || init.windowMs <= 0) throw new RangeError('windowMs: expected a positive integer')
    if (!Number.isSafeInteger(init.maxGroups) || init.maxGroups <= 0) throw new RangeError('maxGroups: expected a positive integer')
    this.log = log
    this.windowMs = init.windowMs
    this.maxGroups = init.maxGroups
    this.now = init.now ?? Date.now
    this.onError = init.onError ?? (() => {})
  }

  /** Ends a window every `windowMs` from now on. */
  start (): void {
    if (this.timer !== undefined || this.closed) return
    this.timer = setInterval(() => { void this.flush() }, this.windowMs)
    // A node that is otherwise done should not be kept alive by its audit windows.
    this.timer.unref()
  }

  async append (line: AuditLineInput, opts: AuditAppendOptions = {}): Promise<number | undefined> {
    const refusal = opts.unauthenticatedRefusal
    if (line.result !== 'refused' || refusal === undefined) return await this.log.append(line)
    if (this.closed) throw new NodeError('CLOSED', 'the audit log is closed')
    const source = auditSourceOf(line.from)
    let group = this.groups.get(groupKey(source, line.action, refusal.answered))
    if (group === undefined) {
      if (this.groups.size < this.maxGroups) {
        this.groups.set(groupKey(source, line.action, refusal.answered), { source, action: line.action, tallies: new Map() })
        return await this.log.append(line)
      }
      const key = groupKey(OTHER_SOURCES, line.action, refusal.answered)
      group = this.groups.get(key)
      if (group === undefined) {
        group = { source: OTHER_SOURCES, action: line.action, tallies: new Map() }
        this.groups.set(key, group)
      }
    }
    count(group, line, this.now())
    return undefined
  }

  /** Ends the window: writes a line for every count, and starts counting afresh. */
  async flush (): Promise<void> {
    const groups = this.groups
    this.groups = new Map()
    const lines = this.carried
    this.carried = []
    for (const group of groups.values()) {
      for (const [code, tally] of group.tallies) lines.push(countLine(group, code, tally))
    }
    const written = await Promise.allSettled(lines.map(async (line) => await this.log.append(line)))
    written.forEach((result, i) => {
      if (result.status === 'fulfilled') return
      // A line the schema refuses would be refused again: only what failed to be stored is kept.
      if (!(result.reason instanceof NodeError && result.reason.code === 'BAD_AUDIT_LINE')) this.carried.push(lines[i]!)
      this.onError(result.reason)
    })
  }

  /** Stops the windows and writes what was counted. Lines given after this are refused (CLOSED). */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    await this.flush()
  }
}

function groupKey (source: string, action: AuditAction, answered: string): string {
  return `${source}\u0000${action}\u0000${answered}`
}

function count (group: Group, line: AuditLineInput, now: number): void {
  // Refusals always carry a code (the audit hook and the network's both set one).
  const code = line.code ?? 'REFUSED'
  const tally = group.tallies.get(code)
  if (tally === undefined) {
    group.tallies.set(code, { count: 1, since: now, actor: line.actor, role: line.role, target: line.target })
    return
  }
  tally.count++
  if (tally.actor !== line.actor) tally.actor = undefined
  if (tally.role !== line.role) tally.role = undefined
  if (tally.target !== line.target) tally.target = undefined
}

function countLine (group: Group, code: string, tally: Tally): AuditLineInput {
  return {
    actor: tally.actor ?? 'anonymous',
    ...(tally.role === undefined ? {} : { role: tally.role }),
    action: group.action,
    ...(tally.target === undefined ? {} : { target: tally.target }),
    from: group.source,
    result: 'refused',
    code,
    count: tally.count,
    since: new Date(tally.since).toISOString()
  }
}
