/**
 * The embedded store's connection settings and table. Kept apart from the adapter so the
 * durability settings can be read in one place.
 */
import type { Database } from 'better-sqlite3';

/** Bumped when the events table changes shape; stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

export interface ConnectionSettings {
  readonly busyTimeoutMs: number;
  readonly cacheSizeKiB: number;
}

/**
 * WAL so readers (subscriptions, other processes) never block the writer; synchronous=FULL
 * because the bundled better-sqlite3 build makes WAL default to NORMAL, which may lose the
 * last commits on power loss, and an acknowledged fact must survive that.
 */
export function configureConnection(db: Database, settings: ConnectionSettings): void {
  // First, so that switching to WAL (which needs a lock) already waits for other processes.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') {
    throw new Error(`could not switch to WAL journal mode (got ${String(mode)})`);
  }
  db.pragma('synchronous = FULL');
  db.pragma(`cache_size = ${-Math.max(256, Math.floor(settings.cacheSizeKiB))}`);
  db.pragma('temp_store = MEMORY');
}

/**
 * Positions are the rowid (`INTEGER PRIMARY KEY`), assigned by us inside BEGIN IMMEDIATE as
 * last + 1, so they are dense and follow commit order. The (type, position) index serves
 * readAll/subscribe type filters without sorting.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY,
  id          TEXT    NOT NULL UNIQUE,
  stream      TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  UNIQUE (stream, revision)
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, position);
`;

export function migrate(db: Database): void {
  migrateVersioned(db, DDL, SCHEMA_VERSION, 'events file');
}

/**
 * Creates a file's tables once, keyed by `PRAGMA user_version`, and refuses a file written by
 * a newer build. Shared by every SQLite file that keeps facts or proofs (events.db, audit.db).
 */
export function migrateVersioned(db: Database, ddl: string, schemaVersion: number, what: string): void {
  // IMMEDIATE: two processes opening a fresh file at once must not both try to create it.
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > schemaVersion) {
      throw new Error(`${what} has schema version ${version}, this build knows ${schemaVersion}`);
    }
    if (version < schemaVersion) {
      db.exec(ddl);
      db.pragma(`user_version = ${schemaVersion}`);
    }
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
