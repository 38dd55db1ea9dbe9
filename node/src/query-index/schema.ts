/**
 * The query index's SQLite schema, version 2, and opening the database.
 *
 * Everything here is derived from verified chain entries and can be thrown
 * away: a database whose schema version differs from SCHEMA_VERSION is
 * dropped and recreated empty (every cursor back at 0), and the next
 * catch-up (`QueryIndex.indexChain`, `IndexFollower`) fills it again.
 *
 * Tables:
 * - `meta(key, value)`: `schema_version`.
 * - `chains(uid, user_id, chain_key, indexed_length)`: one row per user
 *   chain, the cursor — entries [0, indexed_length) are in the index.
 *   `uid` is a small integer standing for the user in every other table
 *   (a user id is 32 characters; repeated on 10 million location rows it
 *   would be most of the file).
 * - `observations(uid, seq, ord, source, author, time, end_time, code,
 *   value, text_value, unit, low, high)`: the observations of PLAIN
 *   segments only — exam plain observations (`source` 'exam') and exercise
 *   observations ('exercise', with the period's end in `end_time`). `ord`
 *   is the observation's index in its entry. Numbers go to `value`, text
 *   to `text_value`. `low`/`high` are the reference range the author wrote,
 *   if any.
 * - `locations(id, uid, seq, time, cell, lat, lon, acc)`: location points;
 *   `cell` is the point's grid cell (grid.ts), indexed with the time
 *   (`locations_by_cell`): a contact trace looks up the cells around each
 *   point, the time window in each, and filters exactly. A cell costs what
 *   a B-tree row costs — SQLite's R*Tree, which version 1 used, cost 5-7 µs
 *   of CPU a point, more than reading the entry that holds it.
 *
 * Nothing sealed is ever written here (see rows.ts): the index is safe to
 * query for any role that may read plain segments.
 *
 * A full rebuild marks the file (`meta` key `rebuild_under_way`) while it
 * writes rows without the indexes across users; opening a file that still has
 * the mark (a rebuild killed part-way) empties it like a schema change does.
 *
 * Erased entries leave no bytes behind: `secure_delete` makes SQLite zero
 * what a delete frees (table and index cells, freed pages); and the WAL,
 * which keeps the pages as they were before, is checkpointed and truncated
 * after every write that deleted rows (`truncateWal`) and when the file is
 * opened (a WAL a crash left behind).
 */
import { chmodSync } from 'node:fs'
import Database from 'better-sqlite3'
import { NodeError } from '../errors.js'

export type Db = Database.Database

export const SCHEMA_VERSION = 2

/** Every table any version made (version 1's R*Tree too), so that a file of any version is emptied whole. */
const TABLES = ['meta', 'chains', 'observations', 'locations', 'location_rtree'] as const

const CREATE = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS chains (
  uid INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL UNIQUE,
  chain_key BLOB NOT NULL,
  indexed_length INTEGER NOT NULL CHECK (indexed_length >= 0)
);

CREATE TABLE IF NOT EXISTS observations (
  uid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('exam', 'exercise')),
  author TEXT NOT NULL,
  time INTEGER NOT NULL,
  end_time INTEGER,
  code TEXT NOT NULL,
  value REAL,
  text_value TEXT,
  unit TEXT,
  low REAL,
  high REAL,
  PRIMARY KEY (uid, seq, ord)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS locations (
  id INTEGER PRIMARY KEY,
  uid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  cell INTEGER NOT NULL,
  lat REAL NOT NULL,
  lon REAL NOT NULL,
  acc REAL NOT NULL
);
`

/**
 * The secondary indexes by user. A rebuild keeps them as it writes: it
 * goes chain by chain, so their rows arrive almost in order, each insert
 * near the end of the tree (and the rebuild's writing thread has the time).
 */
const USER_INDEXES = `
CREATE INDEX IF NOT EXISTS observations_by_user_code ON observations (uid, code, time);
CREATE INDEX IF NOT EXISTS locations_by_user ON locations (uid, time);
`

/**
 * The secondary indexes across users. A rebuild drops them and makes them
 * again at the end (one sort each instead of keeping them in order row by
 * row, where every insert lands somewhere else in the tree).
 */
const SORTED_INDEXES = `
CREATE INDEX IF NOT EXISTS observations_by_code ON observations (code, time);
CREATE INDEX IF NOT EXISTS locations_by_cell ON locations (cell, time);
`

const INDEXES = USER_INDEXES + SORTED_INDEXES

/**
 * The `meta` key a full rebuild holds while it runs. Its rows go in without
 * the indexes across users (made once at the end, one sort each instead of
 * keeping each in order row by row), so a file that
 * still has the key after a crash is not an index a query may use: opening
 * it empties it (every cursor back at 0) and the catch-up at start indexes
 * every chain again.
 */
const REBUILDING = 'rebuild_under_way'

/**
 * Opens (creating if missing) the index database at `path`: WAL journal
 * (readers never block the writer) and synchronous NORMAL — a commit may be
 * lost on power failure but never half-applied, and a lost tail only means
 * its entries are indexed again from the older cursor.
 */
export function openDatabase (path: string): Db {
  const db = openConnection(path)
  try {
    migrate(db)
    // A WAL left by a crash still holds old pages, erased rows' among them.
    truncateWal(db)
    return db
  } catch (cause) {
    db.close()
    if (cause instanceof NodeError) throw cause
    throw damaged(path, cause)
  }
}

function damaged (path: string, cause: unknown): NodeError {
  return new NodeError('DATA_FILE', `query index ${path} is damaged or not an index (delete it and run \`healthchain reindex\`)`, { cause })
}

/**
 * A second connection to an index another connection of this process
 * opened (and migrated) already: the settings alone, no migration — a
 * rebuild's writing thread must not empty the file whose rebuild it is
 * part of.
 */
export function openConnection (path: string): Db {
  let db: Db
  try {
    db = new Database(path)
  } catch (cause) {
    throw new NodeError('DATA_FILE', `query index ${path} cannot be opened`, { cause })
  }
  try {
    // Plain health data: owner-only, like everything else in the data directory (SQLite gives its WAL the same mode).
    if (path !== ':memory:' && process.platform !== 'win32') chmodSync(path, 0o600)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    // Deleted rows are zeroed in the file, not merely unlinked: an erased entry's plain data must not stay readable there.
    db.pragma('secure_delete = ON')
    db.pragma('foreign_keys = OFF')
    // Rebuilds and bulk loads sort large indexes: give SQLite room (in KiB, negative = KiB).
    db.pragma('cache_size = -65536')
    db.pragma('temp_store = MEMORY')
    return db
  } catch (cause) {
    db.close()
    throw damaged(path, cause)
  }
}

/**
 * Folds the WAL into the database file and truncates it to zero bytes: the
 * WAL keeps every page as it was written (a deleted row's page before the
 * delete too) until it is overwritten, and a plain checkpoint leaves the
 * file's old frames in place. False when a reader kept it from completing
 * (then call it again later).
 */
export function truncateWal (db: Db): boolean {
  if (db.memory) return true
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>
  return result === undefined || result.busy === 0
}

/** Creates the schema; a database of another schema version, or one a rebuild stopped in (REBUILDING), is dropped first. */
function migrate (db: Db): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined
  const metaOf = (key: string): string | undefined => (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
  const version = hasMeta ? metaOf('schema_version') : undefined
  const interrupted = hasMeta && metaOf(REBUILDING) !== undefined
  db.transaction(() => {
    if (version !== String(SCHEMA_VERSION) || interrupted) dropAll(db)
    db.exec(CREATE)
    db.exec(INDEXES)
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
  })()
}

/** Drops every table of the index (any version), in one transaction with whatever the caller does next. */
export function dropAll (db: Db): void {
  const names = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name))
  for (const table of TABLES) if (names.has(table)) db.exec(`DROP TABLE "${table}"`)
}

/**
 * Drops and recreates every table: an empty index, every cursor at 0.
 * With `rebuild`, the file is marked as a rebuild under way and left
 * without its indexes across users: write the rows, then call
 * finishRebuild.
 */
export function resetSchema (db: Db, opts: { rebuild?: boolean } = {}): void {
  db.transaction(() => {
    dropAll(db)
    db.exec(CREATE)
    db.exec(opts.rebuild === true ? USER_INDEXES : INDEXES)
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION))
    if (opts.rebuild === true) db.prepare("INSERT INTO meta (key, value) VALUES (?, 'yes')").run(REBUILDING)
  })()
}

/**
 * Ends a rebuild resetSchema began: the indexes across users made, the mark
 * gone — in one transaction — then the WAL truncated: the dropped tables were
 * zeroed (secure_delete), but the WAL still holds their pages as they were.
 */
export function finishRebuild (db: Db): void {
  db.transaction(() => {
    db.exec(INDEXES)
    db.prepare('DELETE FROM meta WHERE key = ?').run(REBUILDING)
  })()
  truncateWal(db)
}

/** Whether a rebuild is under way in this file (or stopped in it: the next open empties it). */
export function rebuildUnderWay (db: Db): boolean {
  return db.prepare('SELECT 1 FROM meta WHERE key = ?').get(REBUILDING) !== undefined
}
