/**
 * The query index on PostgreSQL with PostGIS: the same flow as the SQLite
 * one (query-index.ts) — a cursor per chain, batches written with their
 * cursor in one transaction, erasures deleting the rows they name — and
 * the same answers: argument checks and arithmetic are the shared functions
 * of series.ts, exercise-summary.ts, statistics.ts and trace.ts; only the
 * SQL is PostgreSQL's (pg-queries.ts).
 */
import type pg from 'pg'
import type { Entry, UserId } from '@healthchain/core'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { NodeError } from '../errors.js'
import type { QueryIndexBackend } from './backend.js'
import type { BatchHook } from './index-writer.js'
import { IndexFollower, type IndexFollowerInit } from './follower.js'
import { indexEveryChain } from './rebuild-loop.js'
import { PgQueries } from './pg-queries.js'
import { createPgIndexes, inTransaction, openPool, resetPgSchema } from './pg-schema.js'
import type { IndexResult, QueryIndexInit, RebuildProgress, RebuildResult } from './query-index.js'
import { rowsOf } from './rows.js'
import { cellOf } from './grid.js'

interface Cursor { readonly uid: number, readonly chainKey: Uint8Array, readonly indexedLength: number }

export class PgQueryIndex extends PgQueries implements QueryIndexBackend {
  readonly kind = 'postgres'
  private readonly batchSize: number
  private readonly onBatch: BatchHook | undefined
  private readonly running = new Map<UserId, Promise<unknown>>()
  private closed = false
  /** A rebuild is under way: its batches commit without waiting for the WAL flush (see applyBatch). */
  private rebuilding = false

  private constructor (pool: pg.Pool, init: QueryIndexInit) {
    super(pool)
    this.batchSize = init.batchSize ?? 1000
    this.onBatch = init.onBatch
  }

  /** Connects to `url` (postgres://…), making the schema if missing; INDEX_DATABASE if it cannot. */
  static async open (url: string, init: QueryIndexInit = {}): Promise<PgQueryIndex> {
    if (init.batchSize !== undefined && (!Number.isInteger(init.batchSize) || init.batchSize < 1)) {
      throw new NodeError('BAD_REQUEST', 'batchSize: expected a positive integer', { field: 'batchSize' })
    }
    return new PgQueryIndex(await openPool(url), init)
  }

  async indexedLength (user: UserId): Promise<number> {
    this.assertOpen()
    return (await this.cursorOf(this.pool, user))?.indexedLength ?? 0
  }

  async isIndexedTo (user: UserId, chainKey: Uint8Array, length: number): Promise<boolean> {
    this.assertOpen()
    const cursor = await this.cursorOf(this.pool, user)
    return cursor !== undefined && cursor.indexedLength === length && Buffer.from(cursor.chainKey).equals(chainKey)
  }

  /** Same contract as QueryIndex.indexChain: concurrent calls for one user run one after the other. */
  async indexChain (chain: UserChain, user: UserId | undefined = chain.userId): Promise<IndexResult> {
    this.assertOpen()
    if (user === undefined) throw new NodeError('BAD_REQUEST', 'user: the chain has no genesis yet and no user was given', { field: 'user' })
    const before = this.running.get(user) ?? Promise.resolve()
    const run = before.then(async () => await this.indexNow(chain, user), async () => await this.indexNow(chain, user))
    const settled = run.catch(() => {})
    this.running.set(user, settled)
    void settled.then(() => { if (this.running.get(user) === settled) this.running.delete(user) })
    return await run
  }

  private async indexNow (chain: UserChain, user: UserId): Promise<IndexResult> {
    this.assertOpen()
    let cursor = await this.cursorFor(user, chain.key)
    const end = Math.min(chain.verifiedLength, chain.length)
    if (end < cursor.indexedLength) cursor = await this.restart(cursor)
    const from = cursor.indexedLength
    let entries = 0
    let observations = 0
    let locations = 0
    let erased = 0
    while (cursor.indexedLength < end) {
      const to = Math.min(cursor.indexedLength + this.batchSize, end)
      const read = await chain.read({ start: cursor.indexedLength, end: to })
      const erasedHere = chain.erasedPositions
      const batch = erasedHere.size === 0 ? read : read.filter((e) => !erasedHere.has(e.seq))
      this.assertOpen()
      const result = await this.applyBatch(user, cursor, to, batch)
      cursor = { ...cursor, indexedLength: to }
      entries += batch.length
      observations += result.observations
      locations += result.locations
      erased += result.erased
    }
    return { user, from, to: cursor.indexedLength, entries, observations, locations, erased }
  }

  private async cursorOf (db: pg.Pool | pg.PoolClient, user: UserId): Promise<Cursor | undefined> {
    const { rows } = await db.query('SELECT uid, chain_key, indexed_length FROM chains WHERE user_id = $1', [user])
    const row = rows[0] as { uid: number, chain_key: Buffer, indexed_length: number } | undefined
    return row === undefined ? undefined : { uid: row.uid, chainKey: new Uint8Array(row.chain_key), indexedLength: row.indexed_length }
  }

  private async cursorFor (user: UserId, chainKey: Uint8Array): Promise<Cursor> {
    return await inTransaction(this.pool, async (client) => {
      await client.query('INSERT INTO chains (user_id, chain_key, indexed_length) VALUES ($1, $2, 0) ON CONFLICT (user_id) DO NOTHING',
        [user, Buffer.from(chainKey)])
      const existing = (await this.cursorOf(client, user))!
      if (Buffer.from(existing.chainKey).equals(chainKey)) return existing
      // Another chain for this user (a store recreated): empty its rows and start again.
      await this.clearUser(client, existing.uid)
      await client.query('UPDATE chains SET chain_key = $1, indexed_length = 0 WHERE uid = $2', [Buffer.from(chainKey), existing.uid])
      return { uid: existing.uid, chainKey, indexedLength: 0 }
    })
  }

  private async restart (cursor: Cursor): Promise<Cursor> {
    await inTransaction(this.pool, async (client) => {
      await this.clearUser(client, cursor.uid)
      await client.query('UPDATE chains SET indexed_length = 0 WHERE uid = $1 AND indexed_length = $2', [cursor.uid, cursor.indexedLength])
    })
    return { ...cursor, indexedLength: 0 }
  }

  private async clearUser (client: pg.PoolClient, uid: number): Promise<void> {
    await client.query('DELETE FROM observations WHERE uid = $1', [uid])
    await client.query('DELETE FROM locations WHERE uid = $1', [uid])
  }

  /**
   * One batch's rows, its erasures and the cursor's move, in one
   * transaction. Rows go in as arrays (one statement per table, not one
   * per row); erasures run after them, which is what running them in entry
   * order gives, since an erasure only names positions before its own.
   */
  private async applyBatch (user: UserId, cursor: Cursor, to: number, entries: ReadonlyArray<{ seq: number, entry: Entry }>):
  Promise<{ observations: number, locations: number, erased: number }> {
    const { uid, indexedLength: from } = cursor
    return await inTransaction(this.pool, async (client) => {
      const obs: unknown[][] = Array.from({ length: 12 }, () => [])
      const loc: number[][] = Array.from({ length: 6 }, () => [])
      const erases: number[] = []
      for (const { seq, entry } of entries) {
        if (seq < from || seq >= to) throw new NodeError('INTERNAL', `entry ${seq} is outside the batch [${from}, ${to})`)
        const rows = rowsOf(entry)
        for (const o of rows.observations) {
          const values = [seq, o.ord, o.source, o.author, o.time, o.endTime, o.code, o.value, o.textValue, o.unit, o.low, o.high]
          values.forEach((v, i) => obs[i]!.push(v))
        }
        for (const p of rows.locations) [seq, p.time, cellOf(p.lat, p.lon), p.lat, p.lon, p.acc].forEach((v, i) => loc[i]!.push(v))
        erases.push(...rows.erases)
      }
      // A rebuild's commits need not wait for the WAL to reach the disk: a server crash can lose only the last few,
      // each whole with its cursor, and those entries are indexed again from the older cursor. A batch that erases
      // keeps the server's durability: lost, it would bring erased rows back until the next catch-up.
      if (this.rebuilding && erases.length === 0) await client.query('SET LOCAL synchronous_commit = off')
      if (obs[0]!.length > 0) {
        await client.query(`INSERT INTO observations (uid, seq, ord, source, author, time, end_time, code, value, text_value, unit, low, high)
          SELECT $1, * FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[],
            $9::float8[], $10::text[], $11::text[], $12::float8[], $13::float8[])`, [uid, ...obs])
      }
      if (loc[0]!.length > 0) {
        await client.query(`INSERT INTO locations (uid, seq, time, cell, lat, lon, acc, geom)
          SELECT $1, s, t, c, la, lo, a, ST_SetSRID(ST_MakePoint(lo, la), 4326)
          FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[]) AS p (s, t, c, la, lo, a)`, [uid, ...loc])
      }
      let erased = 0
      if (erases.length > 0) {
        erased += (await client.query('DELETE FROM observations WHERE uid = $1 AND seq = ANY($2::bigint[])', [uid, erases])).rowCount ?? 0
        erased += (await client.query('DELETE FROM locations WHERE uid = $1 AND seq = ANY($2::bigint[])', [uid, erases])).rowCount ?? 0
      }
      this.onBatch?.({ user, from, to })
      const moved = await client.query('UPDATE chains SET indexed_length = $1 WHERE uid = $2 AND indexed_length = $3', [to, uid, from])
      if (moved.rowCount !== 1) throw new NodeError('INTERNAL', `the index cursor of a chain moved during a batch (expected ${from})`)
      return { observations: obs[0]!.length, locations: loc[0]!.length, erased }
    })
  }

  /** Same contract as QueryIndex.rebuild. */
  async rebuild (ledger: Ledger, onProgress?: (progress: RebuildProgress) => void): Promise<RebuildResult> {
    this.assertOpen()
    const started = Date.now()
    await Promise.allSettled(this.running.values())
    await resetPgSchema(this.pool, { deferIndexes: true })
    this.rebuilding = true
    let done
    try {
      done = await indexEveryChain(ledger, { indexChain: async (chain, user) => await this.indexChain(chain, user), closed: () => this.closed }, onProgress)
    } finally {
      this.rebuilding = false
    }
    await createPgIndexes(this.pool)
    return { ...done, ms: Date.now() - started }
  }

  /** Keeps the index up to date with a ledger's chains, as QueryIndex.followLedger does. Stop it before closing the index. */
  followLedger (ledger: Ledger, init: IndexFollowerInit = {}): IndexFollower {
    const follower = new IndexFollower({ ledger, index: this }, init)
    follower.start()
    return follower
  }

  /** Writes every dirty page to the data files (tests read the files; an operator has no need of it). */
  async checkpoint (): Promise<void> {
    this.assertOpen()
    await this.pool.query('CHECKPOINT')
  }

  /** The database's oid: its files are `base/<oid>/` in the server's data directory. */
  async databaseOid (): Promise<number> {
    this.assertOpen()
    return (await this.pool.query('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0].oid as number
  }

  async close (): Promise<void> {
    if (this.closed) return
    await Promise.allSettled(this.running.values())
    this.closed = true
    await this.pool.end()
  }

  get isClosed (): boolean { return this.closed }

  protected assertOpen (): void {
    if (this.closed) throw new NodeError('CLOSED', 'the query index is closed')
  }
}
