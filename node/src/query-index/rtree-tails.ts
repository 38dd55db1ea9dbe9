/**
 * Deleted R*Tree cells off the page.
 *
 * SQLite's R*Tree keeps each node as one blob in its `<table>_node` shadow
 * table: a 4-byte header (depth, then the cell count, big-endian), then the
 * cells (an 8-byte id and a 32-bit float pair per dimension). Deleting a
 * cell (rtree.c, nodeDeleteCell) moves the later cells down over it and
 * lowers the count — and leaves the last cell's old bytes in the blob, past
 * the count. Those bytes are live data of the node's row to SQLite, so
 * `secure_delete` never zeroes them: a deleted point's coordinates would
 * stay in the file for as long as the node exists. A parent's cell for a
 * child node that was removed goes the same way (its box is made of its
 * points' coordinates).
 *
 * So `deleteCells` deletes cells one at a time, noting just before each the
 * node that holds it and all that node's ancestors, and then zeroes the
 * bytes past the cell count of each noted node that still exists. One at a
 * time because a delete can empty a node below its minimum, and the R*Tree
 * then reinserts the node's other cells elsewhere — cells still to be
 * deleted among them, into nodes no list made beforehand would name. Nodes
 * a delete removed are deleted rows, which `secure_delete` zeroes; a
 * reinserted cell is written whole. Other writes never leave stale bytes:
 * splits and forced reinserts rewrite a node from zeroes.
 *
 * Shadow tables are read-only to ordinary SQL while SQLite's defensive mode
 * is on (better-sqlite3's default); it is turned off only to compile and run
 * the one UPDATE of a node's blob, and back on at once.
 */
import type { Statement } from 'better-sqlite3'
import type { Db } from './schema.js'

const HEADER_BYTES = 4

export class RtreeTails {
  private readonly db: Db
  private readonly cellBytes: number
  private readonly read: Statement
  private readonly write: Statement
  private readonly nodesOf: Statement
  private readonly remove: Statement

  /** `table`: an R*Tree virtual table of `dimensions` dimensions (32-bit float coordinates). */
  constructor (db: Db, table: string, dimensions: number) {
    this.db = db
    this.cellBytes = 8 + dimensions * 2 * 4
    this.read = db.prepare(`SELECT data FROM "${table}_node" WHERE nodeno = ?`).pluck()
    this.nodesOf = db.prepare(`WITH RECURSIVE up(nodeno) AS (
      SELECT nodeno FROM "${table}_rowid" WHERE rowid = ?
      UNION SELECT p.parentnode FROM "${table}_parent" AS p JOIN up ON p.nodeno = up.nodeno
    ) SELECT nodeno FROM up`).pluck()
    this.remove = db.prepare(`DELETE FROM "${table}" WHERE id = ?`)
    // Compiled, and run, only with defensive mode off (see above).
    this.write = this.unsafely(() => db.prepare(`UPDATE "${table}_node" SET data = ? WHERE nodeno = ?`))
  }

  private unsafely<T> (fn: () => T): T {
    this.db.unsafeMode(true)
    try {
      return fn()
    } finally {
      this.db.unsafeMode(false)
    }
  }

  /** Deletes the cells of `ids` and zeroes the bytes they leave in nodes; returns how many cells it deleted. */
  deleteCells (ids: Iterable<number | bigint>): number {
    const nodes = new Set<number>()
    let deleted = 0
    for (const id of ids) {
      for (const nodeno of this.nodesOf.all(id) as number[]) nodes.add(nodeno)
      deleted += this.remove.run(id).changes
    }
    this.zeroTails(nodes)
    return deleted
  }

  /** Zeroes the bytes past the cell count of each of `nodes` that still exists; returns how many it rewrote. */
  zeroTails (nodes: Iterable<number>): number {
    let rewritten = 0
    for (const nodeno of nodes) {
      const data = this.read.get(nodeno) as Buffer | undefined
      if (data === undefined || data.length < HEADER_BYTES) continue
      const end = HEADER_BYTES + data.readUInt16BE(2) * this.cellBytes
      if (end >= data.length || data.subarray(end).every((b) => b === 0)) continue
      data.fill(0, end)
      this.unsafely(() => this.write.run(data, nodeno))
      rewritten++
    }
    return rewritten
  }
}
