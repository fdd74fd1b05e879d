/**
 * The embedded store's connection settings and table. Kept apart from the adapter so the
 * durability settings can be read in one place.
 */
import type { Database } from 'better-sqlite3';
import { Sealer } from './sqlite-seal.js';

/** Bumped when the events table changes shape; stored in `PRAGMA user_version`. 2: seals and the log's id. */
export const SCHEMA_VERSION = 2;

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
  // A checkpoint every 4,000 WAL pages, not SQLite's 1,000 (as readmodels.db since 89b7d19): a
  // group of single facts dirties a leaf of the id, (stream, revision) and (type, position)
  // indexes a few events each, so at 1,000 a checkpoint copied the same hot pages again every
  // ~30 commits, with two fsyncs (synchronous=FULL) each time. Only the connection that
  // commits checkpoints; what a COMMIT makes durable (its WAL fsync) is unchanged.
  db.pragma('wal_autocheckpoint = 4000');
  db.pragma(`cache_size = ${-Math.max(256, Math.floor(settings.cacheSizeKiB))}`);
  db.pragma('temp_store = MEMORY');
}

/**
 * Positions are the rowid (`INTEGER PRIMARY KEY`), assigned by us inside BEGIN IMMEDIATE as
 * last + 1, so they are dense and follow commit order. The (type, position) index serves
 * readAll/subscribe type filters without sorting. `seal` is the writer's HMAC of the row
 * (sqlite-seal.ts); `meta` holds the log's random id (`log_id`), made once with the file.
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
  seal        BLOB,
  UNIQUE (stream, revision)
);
CREATE INDEX IF NOT EXISTS events_by_type ON events (type, position);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
`;

/**
 * Creates the events file, or brings one of schema version 1 (before seals) to 2: a log id,
 * and a seal on every row recorded before (trusted once, at the upgrade, as the tree already
 * trusted them; this needs the seal key, so only the service or a writing command upgrades).
 * Returns the log's id.
 */
export function migrate(db: Database, sealKey: Uint8Array | null, newLogId: () => string): string {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) throw new Error(`events file has schema version ${version}, this build knows ${SCHEMA_VERSION}`);
    if (version === 1) {
      if (sealKey === null) throw new Error('events file has schema version 1 (before seals): start the service on it once, which seals what was recorded before');
      db.exec('ALTER TABLE events ADD COLUMN seal BLOB');
    }
    if (version < SCHEMA_VERSION) {
      db.exec(DDL);
      db.prepare("INSERT OR IGNORE INTO meta (k, v) VALUES ('log_id', ?)").run(newLogId());
    }
    const logId = db.prepare("SELECT v FROM meta WHERE k = 'log_id'").pluck().get() as string | undefined;
    if (logId === undefined) throw new Error('events file has no log id (table meta): it was not made by Annals, or was altered');
    if (version === 1 && sealKey !== null) {
      const sealer = new Sealer(sealKey, logId);
      type Row = [position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string];
      const page = db.prepare<[number], Row>('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT 10000').raw();
      const put = db.prepare<[Buffer, number]>('UPDATE events SET seal = ? WHERE position = ?');
      for (let rows = page.all(0); rows.length > 0; rows = page.all((rows.at(-1) as Row)[0])) {
        for (const r of rows) put.run(sealer.seal(...r), r[0]);
      }
    }
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
    return logId;
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/** The log id of an events file opened without migrating (read-only); null before schema 2. */
export function readLogId(db: Database): string | null {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) throw new Error(`events file has schema version ${version}, this build knows ${SCHEMA_VERSION}`);
  if (version < 2) return null;
  return (db.prepare("SELECT v FROM meta WHERE k = 'log_id'").pluck().get() as string | undefined) ?? null;
}

/**
 * Creates a file's tables once, keyed by `PRAGMA user_version`, and refuses a file written by
 * a newer build. Shared by every SQLite file that keeps facts or proofs (events.db, audit.db).
 */
export function migrateVersioned(db: Database, ddl: string, schemaVersion: number, what: string, before?: (from: number) => void): void {
  // IMMEDIATE: two processes opening a fresh file at once must not both try to create it.
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > schemaVersion) {
      throw new Error(`${what} has schema version ${version}, this build knows ${schemaVersion}`);
    }
    if (version < schemaVersion) {
      // A file's own steps from `version` (0: a new file), in the same transaction as the DDL.
      before?.(version);
      db.exec(ddl);
      db.pragma(`user_version = ${schemaVersion}`);
    }
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
