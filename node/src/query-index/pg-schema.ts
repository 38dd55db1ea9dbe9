/**
 * The query index's PostgreSQL schema (with PostGIS), version 2: the same
 * tables and columns as the SQLite one (schema.ts), in PostgreSQL's types,
 * and the same rule — a database whose schema version differs is dropped
 * and made again empty, and catch-up fills it from the chains.
 *
 * Differences, and why:
 * - A trace looks points up as SQLite does: by grid cell and time
 *   (`locations_by_cell`, grid.ts), one seek per cell of each point's box.
 *   Version 1 looked them up in a GiST index of `geom` alone, which made a
 *   trace visit every point ever recorded in the box (a home's, of every
 *   day) to keep the few in the time window. 60 users over 30 days: 300 ms
 *   a trace then, 100 ms with the grid and JIT off (openPool), 30 ms on
 *   SQLite (node/test/query-index.test.ts). `locations.geom` stays, a PostGIS
 *   point (SRID 4326, x = longitude) under a GiST index, for an analyst's
 *   own spatial queries. The index only proposes candidates: the exact
 *   distance and time test is shared code (trace.ts), so both backends
 *   answer alike.
 * - Times are `bigint` (milliseconds), read back as JavaScript numbers
 *   (every time the index holds is far below 2^53).
 * - Erasure deletes rows at once (no query sees them again), but PostgreSQL
 *   leaves a deleted row's bytes in its page until VACUUM reuses the space,
 *   and in the WAL and any base backup (node/README.md, "Query index on
 *   PostgreSQL").
 */
import pg from 'pg'
import { NodeError } from '../errors.js'

export const PG_SCHEMA_VERSION = 2

const TABLES = ['meta', 'chains', 'observations', 'locations'] as const

const CREATE = `
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS chains (
  uid serial PRIMARY KEY,
  user_id text NOT NULL UNIQUE,
  chain_key bytea NOT NULL,
  indexed_length bigint NOT NULL CHECK (indexed_length >= 0)
);
CREATE TABLE IF NOT EXISTS observations (
  uid integer NOT NULL,
  seq bigint NOT NULL,
  ord integer NOT NULL,
  source text NOT NULL CHECK (source IN ('exam', 'exercise')),
  author text NOT NULL,
  time bigint NOT NULL,
  end_time bigint,
  code text NOT NULL,
  value double precision,
  text_value text,
  unit text,
  low double precision,
  high double precision,
  PRIMARY KEY (uid, seq, ord)
);
CREATE TABLE IF NOT EXISTS locations (
  id bigserial PRIMARY KEY,
  uid integer NOT NULL,
  seq bigint NOT NULL,
  time bigint NOT NULL,
  cell bigint NOT NULL,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  acc double precision NOT NULL,
  geom geometry(Point, 4326) NOT NULL
);
`

/** The secondary indexes: made after the rows by a rebuild (one sort each), like SQLite's. */
const INDEXES = `
CREATE INDEX IF NOT EXISTS observations_by_user_code ON observations (uid, code, time);
CREATE INDEX IF NOT EXISTS observations_by_code ON observations (code, time);
CREATE INDEX IF NOT EXISTS locations_by_user ON locations (uid, time);
CREATE INDEX IF NOT EXISTS locations_by_user_seq ON locations (uid, seq);
CREATE INDEX IF NOT EXISTS locations_by_cell ON locations (cell, time);
CREATE INDEX IF NOT EXISTS locations_geom ON locations USING gist (geom);
CREATE INDEX IF NOT EXISTS locations_by_time ON locations (time);
`

const BIGINT_OID = 20

/** bigint as a JavaScript number (node-postgres gives strings by default: every value here is below 2^53). */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) => oid === BIGINT_OID
    ? (value: string) => Number(value)
    : pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown
}

/**
 * Where the URL points, without its password (for errors and logs): the one
 * in its user part, and any parameter whose name holds "pass" (libpq takes
 * `password` and `sslpassword` as parameters too).
 */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    for (const name of [...u.searchParams.keys()]) if (/pass/i.test(name)) u.searchParams.set(name, '***')
    return u.toString()
  } catch {
    return '(an unparsable URL)'
  }
}

/** A pool on `url`, the schema made (or remade if another version); INDEX_DATABASE when it cannot be reached or lacks PostGIS. */
export async function openPool (url: string, max = 4): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max, types, application_name: 'healthchain-query-index' })
  // An idle client whose server went away must not crash the node: the next query reports it.
  pool.on('error', () => {})
  // JIT off: every query here is a handful of index seeks, and a trace's plan costs enough to be compiled, which took
  // 107 ms of a 169 ms trace (60 users, 30 days), each time. Set on each new session, queued before any other query;
  // not as a startup `options` parameter, which the URL's own would replace and a pooler such as PgBouncer refuses.
  pool.on('connect', (client) => { client.query('SET jit = off').catch(() => {}) })
  try {
    await migrate(pool)
    return pool
  } catch (cause) {
    await pool.end().catch(() => {})
    if (cause instanceof NodeError) throw cause
    const detail = cause instanceof Error ? cause.message : String(cause)
    throw new NodeError('INDEX_DATABASE', `query index database ${redactUrl(url)}: ${detail}`, { cause })
  }
}

async function migrate (pool: pg.Pool): Promise<void> {
  const client = await pool.connect()
  try {
    const available = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    if (available.rowCount === 0) {
      throw new NodeError('INDEX_DATABASE', 'the query index database has no PostGIS (install postgresql-NN-postgis-3 on the server)')
    }
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis')
    await client.query('BEGIN')
    // Two processes opening one database at once would race to drop and create: one at a time.
    await client.query('SELECT pg_advisory_xact_lock(7244019)')
    const hasMeta = (await client.query("SELECT to_regclass('meta') IS NOT NULL AS present")).rows[0].present === true
    const version = hasMeta ? (await client.query("SELECT value FROM meta WHERE key = 'schema_version'")).rows[0]?.value : undefined
    if (version !== String(PG_SCHEMA_VERSION)) await dropAll(client)
    await client.query(CREATE)
    await client.query(INDEXES)
    await setVersion(client)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

async function setVersion (client: pg.ClientBase): Promise<void> {
  await client.query(`INSERT INTO meta (key, value) VALUES ('schema_version', $1)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(PG_SCHEMA_VERSION)])
}

async function dropAll (client: pg.ClientBase): Promise<void> {
  for (const table of TABLES) await client.query(`DROP TABLE IF EXISTS "${table}"`)
}

/** Drops and recreates every table in one transaction: an empty index; without the secondary indexes when `deferIndexes`. */
export async function resetPgSchema (pool: pg.Pool, opts: { deferIndexes?: boolean } = {}): Promise<void> {
  await inTransaction(pool, async (client) => {
    await dropAll(client)
    await client.query(CREATE)
    if (opts.deferIndexes !== true) await client.query(INDEXES)
    await setVersion(client)
  })
}

export async function createPgIndexes (pool: pg.Pool): Promise<void> {
  await pool.query(INDEXES)
  await pool.query('ANALYZE observations; ANALYZE locations')
}

/** Runs `fn` in one transaction on one client: committed if it returns, rolled back if it throws. */
export async function inTransaction<T> (pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}
