/**
 * The only code that writes the index: cursors and rows, one chain's batch
 * at a time, each batch in ONE SQLite transaction together with the cursor
 * that covers it. A crash (or any throw) inside a batch therefore leaves
 * either the whole batch and its cursor, or neither — never rows without
 * their cursor or a cursor past rows that are missing, so the index is
 * consistent after a crash and a restart simply continues from the cursor.
 */
import { decodeBlock, type Entry, type UserId } from '@healthchain/core'
import type { PositionedBlock } from '@healthchain/ledger'
import { NodeError } from '../errors.js'
import { rowsOf, type EntryRows } from './rows.js'
import { cellOf } from './grid.js'
import { truncateWal, type Db } from './schema.js'

export interface ChainCursor {
  readonly uid: number
  readonly chainKey: Uint8Array
  /** Entries [0, indexedLength) are in the index. */
  readonly indexedLength: number
}

export interface BatchInfo {
  readonly user: UserId
  /** First position of the batch (the cursor before it). */
  readonly from: number
  /** The cursor after it (exclusive). */
  readonly to: number
}

export interface BatchResult {
  readonly observations: number
  readonly locations: number
  readonly erased: number
}

/**
 * Called inside a batch's transaction after its rows are written and before
 * the cursor moves: a fault-injection seam (tests throw here to prove that a
 * failed batch leaves nothing behind). Throwing rolls the batch back.
 */
export type BatchHook = (batch: BatchInfo) => void

/** One entry's rows at its position. */
export interface RowsAt {
  readonly seq: number
  readonly rows: EntryRows
}

/**
 * The rows of a batch of stored blocks, each decoded with decodeBlock: the
 * checks every reader makes, without keeping the entry for re-encoding (the
 * rows are all the index keeps). A block that fails them fails the batch.
 */
export function rowsOfBlocks (blocks: readonly PositionedBlock[]): RowsAt[] {
  return rowsAt(blocks.map(({ seq, block }) => ({ seq, entry: decodeBlock(block).entry })))
}

/** The rows of a batch of entries; entries that give none (genesis, consent) are left out. */
export function rowsAt (entries: ReadonlyArray<{ seq: number, entry: Entry }>): RowsAt[] {
  const out: RowsAt[] = []
  for (const { seq, entry } of entries) {
    const rows = rowsOf(entry)
    if (rows.observations.length > 0 || rows.locations.length > 0 || rows.erases.length > 0) out.push({ seq, rows })
  }
  return out
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

export class IndexWriter {
  private readonly db: Db
  /** Rows were deleted and the WAL still holds their old pages (a checkpoint was kept from truncating it). */
  private walOwed = false
  private readonly stmts

  constructor (db: Db) {
    this.db = db
    this.stmts = {
      cursor: db.prepare('SELECT uid, chain_key AS chainKey, indexed_length AS indexedLength FROM chains WHERE user_id = ?'),
      addChain: db.prepare('INSERT INTO chains (user_id, chain_key, indexed_length) VALUES (?, ?, 0)'),
      rekey: db.prepare('UPDATE chains SET chain_key = ?, indexed_length = 0 WHERE uid = ?'),
      advance: db.prepare('UPDATE chains SET indexed_length = ? WHERE uid = ? AND indexed_length = ?'),
      observation: db.prepare(`INSERT INTO observations (uid, seq, ord, source, author, time, end_time, code, value, text_value, unit, low, high)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      location: db.prepare('INSERT INTO locations (uid, seq, time, cell, lat, lon, acc) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      eraseObservations: db.prepare('DELETE FROM observations WHERE uid = ? AND seq = ?'),
      eraseLocations: db.prepare('DELETE FROM locations WHERE uid = ? AND seq = ?'),
      clearObservations: db.prepare('DELETE FROM observations WHERE uid = ?'),
      clearLocations: db.prepare('DELETE FROM locations WHERE uid = ?')
    }
  }

  cursorOf (user: UserId): ChainCursor | undefined {
    const row = this.stmts.cursor.get(user) as { uid: number, chainKey: Buffer, indexedLength: number } | undefined
    return row === undefined ? undefined : { uid: row.uid, chainKey: new Uint8Array(row.chainKey), indexedLength: row.indexedLength }
  }

  /**
   * The cursor of `user`'s chain with key `chainKey`, created at 0 if new.
   * A row for another chain key (the user's chain was replaced, e.g. a
   * store recreated) is emptied and starts again at 0.
   */
  cursorFor (user: UserId, chainKey: Uint8Array): ChainCursor {
    const cursor = this.db.transaction((): ChainCursor => {
      const existing = this.cursorOf(user)
      if (existing === undefined) {
        const uid = Number(this.stmts.addChain.run(user, Buffer.from(chainKey)).lastInsertRowid)
        return { uid, chainKey, indexedLength: 0 }
      }
      if (sameBytes(existing.chainKey, chainKey)) return existing
      this.clearUser(existing.uid)
      this.stmts.rekey.run(Buffer.from(chainKey), existing.uid)
      this.walOwed = true
      return { uid: existing.uid, chainKey, indexedLength: 0 }
    })()
    // After the transaction: a checkpoint cannot run inside one.
    this.settleWal()
    return cursor
  }

  /** Empties a user's rows and puts the cursor back to 0 (their chain shrank: it must be indexed again). */
  restart (cursor: ChainCursor): ChainCursor {
    this.db.transaction(() => {
      this.clearUser(cursor.uid)
      this.stmts.advance.run(0, cursor.uid, cursor.indexedLength)
    })()
    this.walOwed = true
    this.settleWal()
    return { ...cursor, indexedLength: 0 }
  }

  private clearUser (uid: number): void {
    this.stmts.clearObservations.run(uid)
    this.stmts.clearLocations.run(uid)
  }

  /**
   * Writes the rows of `entries` (positions in [from, to), in order; erased
   * or absent positions simply missing) and moves the cursor from `from` to
   * `to`, in one transaction. An erasure entry deletes the rows of the
   * positions it names — earlier batches' or this one's.
   */
  applyBatch (user: UserId, cursor: ChainCursor, to: number, entries: ReadonlyArray<{ seq: number, entry: Entry }>, hook?: BatchHook): BatchResult {
    return this.applyRows(user, cursor, to, rowsAt(entries), hook)
  }

  /** applyBatch with each entry's rows made already (rowsAt): what a writing thread is sent. */
  applyRows (user: UserId, cursor: ChainCursor, to: number, entries: readonly RowsAt[], hook?: BatchHook): BatchResult {
    const { uid, indexedLength: from } = cursor
    const s = this.stmts
    const result = this.db.transaction((): BatchResult => {
      let observations = 0
      let locations = 0
      let erased = 0
      for (const { seq, rows } of entries) {
        if (seq < from || seq >= to) throw new NodeError('INTERNAL', `entry ${seq} is outside the batch [${from}, ${to})`)
        for (const o of rows.observations) {
          s.observation.run(uid, seq, o.ord, o.source, o.author, o.time, o.endTime, o.code, o.value, o.textValue, o.unit, o.low, o.high)
        }
        observations += rows.observations.length
        for (const p of rows.locations) s.location.run(uid, seq, p.time, cellOf(p.lat, p.lon), p.lat, p.lon, p.acc)
        locations += rows.locations.length
        for (const target of rows.erases) {
          erased += s.eraseObservations.run(uid, target).changes
          erased += s.eraseLocations.run(uid, target).changes
        }
      }
      hook?.({ user, from, to })
      // The cursor moves only from where this batch started: anything else means another writer moved it.
      if (s.advance.run(to, uid, from).changes !== 1) {
        throw new NodeError('INTERNAL', `the index cursor of a chain moved during a batch (expected ${from})`)
      }
      return { observations, locations, erased }
    })()
    if (result.erased > 0) this.walOwed = true
    this.settleWal()
    return result
  }

  /** Truncates the WAL if rows were deleted since it last was (see schema.ts, truncateWal). */
  private settleWal (): void {
    if (this.walOwed) this.walOwed = !truncateWal(this.db)
  }
}
