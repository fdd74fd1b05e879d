/**
 * One writer per data dir. The service and the commands that write (import, rebuild,
 * restore) hold an exclusive lock on `<dataDir>/annals.lock` for as long as they run; a
 * second one is refused with who holds it. Commands that only read (export, replay, backup,
 * token) take no lock and work beside a running service.
 *
 * The lock is SQLite's own, on a file of its own: a connection in EXCLUSIVE locking mode
 * keeps the exclusive lock it took for its first write until it closes. It is an advisory
 * POSIX lock, so the system drops it when the process dies (kill -9 leaves no stale lock),
 * and SQLite tracks it per file across connections of one process too. SQLite's locks on
 * events.db alone would not do: readers beside the service must keep working, and a second
 * writer would simply take turns with the first. Not reliable on network file systems.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../store/private-files.js';

export const LOCK_FILE = 'annals.lock';
/** Who holds the lock, readable while it is held (the lock file itself is not). */
export const HOLDER_FILE = 'annals.lock.holder';

export interface LockHolder {
  readonly what: string;
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Another process (or another runtime of this one) holds the data dir. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'another process';
    super(`the data dir ${dataDir} is in use by ${who}: one writer at a time`);
    this.name = 'DataDirBusyError';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Takes the data dir's lock for `what` (e.g. "the service", "annals import"), or throws DataDirBusyError. */
export function lockDataDir(dataDir: string, what: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  ensurePrivateFile(path, { sqlite: true });
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY, since TEXT NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO held (id, since) VALUES (1, ?)').run(new Date().toISOString());
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw new DataDirBusyError(dataDir, readHolder(dataDir));
    throw e;
  }
  const holder: LockHolder = { what, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const holderPath = join(dataDir, HOLDER_FILE);
  writeFileSync(holderPath, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      rmSync(holderPath, { force: true });
      db.close();
    },
  };
}

function readHolder(dataDir: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, HOLDER_FILE), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}
