/**
 * The node's audit log: every login, read and write, granted or refused, as
 * one line (audit-line.ts) in a Hypercore of the node's own — the local
 * core `local/audit-log` (`audit-log` in stores written before the rename,
 * kept so their history stays), whose signing key is derived from the
 * store's primary key and never leaves the node.
 *
 * Tamper evidence. Hypercore signs, with every append, the Merkle tree over
 * all lines so far (its head: tree hash, length, fork). `verify()` rebuilds
 * that tree from the stored lines and checks the signature, so a line
 * rewritten, removed or reordered on disk by anyone without the node's key
 * no longer matches the signed head and is reported. Against the key holder
 * itself (who could re-sign a rewritten history), a head taken earlier —
 * `head()`, kept by an auditor or published to peers — is the anchor:
 * `verify({ anchor })` checks that the log still has the same tree at that
 * length, so history before it cannot be rewritten unnoticed.
 *
 * Appends are group-committed: the first line is written at once; lines
 * that arrive while a write is under way are written together by the next
 * one (at most 256 per Hypercore append). `append` resolves only after its
 * line is stored, so a caller that waits for it never reports an action the
 * log does not hold.
 */
import type Hypercore from 'hypercore'
import hcrypto from 'hypercore-crypto'
import { bytesToHex, equal } from '@healthchain/core'
import { RootBuilder, coreKeyOfSigner, storedHead, storedTreeHash, treeSignable, type LocalCoreName, type LocalCoreSource } from '@healthchain/ledger'
import { NodeError } from '../errors.js'
import { AUDIT_LINE_VERSION, decodeAuditLine, encodeAuditLine, type AuditLine, type AuditLineInput } from './audit-line.js'

export const AUDIT_LOG_CORE = 'local/audit-log' satisfies LocalCoreName
const MAX_BATCH = 256
const READ_CHUNK = 256

/** A signed head of the audit log, to keep as an anchor. */
export interface AuditHead {
  readonly key: Uint8Array
  readonly length: number
  /** Hypercore's tree hash at `length`. */
  readonly root: Uint8Array
  /** The log key's Ed25519 signature over the tree at `length`. */
  readonly signature: Uint8Array
}

export type AuditProblemCode =
  /** The log is not the one expected, or its head's signer does not own it. */
  | 'WRONG_KEY'
  /** The stored lines do not hash to the tree the log's key signed (a line was rewritten, removed or reordered). */
  | 'TREE_MISMATCH'
  /** A line below the head's length is not stored. */
  | 'MISSING_LINE'
  /** A stored line is not a valid version 1 audit line. */
  | 'BAD_AUDIT_LINE'
  /** The tree at an anchor's length is not the anchor's: history before it was rewritten and re-signed. */
  | 'ANCHOR_MISMATCH'
  /** The log has lines but no stored head signature. */
  | 'NO_HEAD'

export interface AuditProblem {
  readonly code: AuditProblemCode
  readonly seq?: number
  readonly message: string
}

export interface AuditReport {
  readonly valid: boolean
  /** The log's key, hex. */
  readonly key: string
  readonly length: number
  /** Lines read, decoded and hashed into the rebuilt tree. */
  readonly linesChecked: number
  readonly problems: readonly AuditProblem[]
}

export interface AuditVerifyOptions {
  /** The key the log must have (e.g. recorded when the node was set up). */
  readonly expectedKey?: Uint8Array
  /** A head taken earlier: the log must still have the same tree at its length. */
  readonly anchor?: Pick<AuditHead, 'length' | 'root'>
}

export interface AuditLogOptions {
  /** Milliseconds since the epoch, for lines given without a time; injectable for tests. */
  readonly now?: () => number
}

export interface PositionedAuditLine {
  readonly seq: number
  readonly line: AuditLine
}

interface Pending {
  readonly block: Uint8Array
  resolve (seq: number): void
  reject (err: unknown): void
}

export class AuditLog {
  readonly core: Hypercore
  private readonly now: () => number
  private pending: Pending[] = []
  private flushing: Promise<void> | undefined
  private closed = false

  private constructor (core: Hypercore, opts: AuditLogOptions) {
    this.core = core
    this.now = opts.now ?? Date.now
  }

  /**
   * Opens (creating if needed) the node's audit log, a local core (a store
   * written before it was named `local/audit-log` keeps its `audit-log` core,
   * history and all). The store stays the caller's to close.
   */
  static async open (cores: LocalCoreSource, opts: AuditLogOptions = {}): Promise<AuditLog> {
    const core = await cores.localCore(AUDIT_LOG_CORE)
    return new AuditLog(core, opts)
  }

  get key (): Uint8Array { return new Uint8Array(this.core.key!) }
  get length (): number { return this.core.length }

  /** Writes one line; resolves with its position once it is stored. BAD_AUDIT_LINE if it does not fit the schema. */
  async append (input: AuditLineInput): Promise<number> {
    if (this.closed) throw new NodeError('CLOSED', 'the audit log is closed')
    const line: AuditLine = { ...input, v: AUDIT_LINE_VERSION, time: input.time ?? new Date(this.now()).toISOString() }
    const block = encodeAuditLine(line)
    return await new Promise<number>((resolve, reject) => {
      this.pending.push({ block, resolve, reject })
      this.flushing ??= this.flush()
    })
  }

  private async flush (): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_BATCH)
        try {
          const { length } = await this.core.append(batch.map((p) => p.block))
          const first = length - batch.length
          batch.forEach((p, i) => p.resolve(first + i))
        } catch (cause) {
          const err = new NodeError('INTERNAL', 'the audit log could not be written', { cause })
          for (const p of batch) p.reject(err)
        }
      }
    } finally {
      this.flushing = undefined
    }
  }

  /** Lines [start, end) in order (end defaults to the current length). */
  async read (start = 0, end = this.core.length): Promise<PositionedAuditLine[]> {
    if (!Number.isSafeInteger(start) || start < 0) throw new NodeError('BAD_REQUEST', 'start: expected a non-negative integer', { field: 'start' })
    if (!Number.isSafeInteger(end) || end < start || end > this.core.length) {
      throw new NodeError('BAD_REQUEST', `end: expected an integer between start and the log's length (${this.core.length})`, { field: 'end' })
    }
    const out: PositionedAuditLine[] = []
    for (let from = start; from < end; from += READ_CHUNK) {
      const to = Math.min(end, from + READ_CHUNK)
      const blocks = await this.blocks(from, to)
      blocks.forEach((block, i) => {
        const seq = from + i
        if (block === null) throw new NodeError('BAD_AUDIT_LINE', `audit line ${seq} is not stored`)
        out.push({ seq, line: decodeAuditLine(block) })
      })
    }
    return out
  }

  private async blocks (from: number, to: number): Promise<Array<Uint8Array | null>> {
    const reads: Array<Promise<Uint8Array | null>> = []
    for (let seq = from; seq < to; seq++) reads.push(this.core.get(seq, { wait: false }) as Promise<Uint8Array | null>)
    return await Promise.all(reads)
  }

  /** The current signed head, to keep as an anchor; null while the log is empty. */
  async head (): Promise<AuditHead | null> {
    const head = storedHead(this.core)
    if (head === null) return null
    return { key: head.key, length: head.length, root: await storedTreeHash(this.core, head.length), signature: head.sig }
  }

  /**
   * Re-checks the whole log from what is stored: every line decodes, and the
   * lines hash to the tree the log's key signed (and to an anchor's tree at
   * its length). Problems are collected, never thrown.
   */
  async verify (opts: AuditVerifyOptions = {}): Promise<AuditReport> {
    const problems: AuditProblem[] = []
    const key = this.key
    const report = (length: number, linesChecked: number): AuditReport =>
      ({ valid: problems.length === 0, key: bytesToHex(key), length, linesChecked, problems })

    if (opts.expectedKey !== undefined && !equal(key, opts.expectedKey)) {
      problems.push({ code: 'WRONG_KEY', message: 'the audit log does not have the expected key' })
    }
    // Taken before any block is read, so appends during the check do not race it.
    const head = storedHead(this.core)
    if (head === null) {
      if (this.core.length > 0) problems.push({ code: 'NO_HEAD', message: 'the audit log has lines but no stored head signature' })
      return report(this.core.length, 0)
    }
    if (!equal(coreKeyOfSigner(head.signer), key)) {
      problems.push({ code: 'WRONG_KEY', message: 'the head\'s signer does not own the audit log' })
    }

    const tree = new RootBuilder()
    let complete = true
    for (let from = 0; from < head.length; from += READ_CHUNK) {
      const blocks = await this.blocks(from, Math.min(head.length, from + READ_CHUNK))
      blocks.forEach((block, i) => {
        const seq = from + i
        if (block === null) {
          complete = false
          problems.push({ code: 'MISSING_LINE', seq, message: `audit line ${seq} is not stored` })
          return
        }
        try {
          decodeAuditLine(block)
        } catch (err) {
          problems.push({ code: 'BAD_AUDIT_LINE', seq, message: (err as Error).message })
        }
        if (complete) {
          tree.pushBlock(block)
          if (opts.anchor !== undefined && tree.length === opts.anchor.length && !equal(tree.treeHash(), opts.anchor.root)) {
            problems.push({ code: 'ANCHOR_MISMATCH', seq, message: `the log's tree at length ${opts.anchor.length} is not the anchor's` })
          }
        }
      })
    }
    if (opts.anchor !== undefined && opts.anchor.length > head.length) {
      problems.push({ code: 'ANCHOR_MISMATCH', message: `the log is shorter (${head.length}) than the anchor (${opts.anchor.length}): lines were removed` })
    }
    if (complete) {
      const signable = treeSignable(head.key, tree.treeHash(), head.length, head.fork)
      if (!hcrypto.verify(signable, head.sig, head.signer)) {
        problems.push({ code: 'TREE_MISMATCH', message: 'the stored lines do not match the signed head: a line was rewritten, removed or reordered' })
      }
    }
    return report(head.length, tree.length)
  }

  /** Writes what is queued, then closes this session of the core (the store stays open). */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.flushing
    await this.core.close()
  }
}
