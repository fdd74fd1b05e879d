/**
 * Files of the data dir are the owner's alone: the log, the read models, the audit tree,
 * credentials. SQLite creates a database with mode 0644 (less the umask) and gives its -wal,
 * -shm and -journal files the database's own mode, so a database created empty with 0600
 * before SQLite opens it keeps all of them 0600 whatever the umask.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/** The companions SQLite keeps beside a database file. */
export const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'] as const;

/**
 * Creates `path` empty with mode 0600 if it does not exist; tightens it (and the SQLite files
 * beside it) to 0600 if it does. A file this process cannot chmod (another owner) is left as it is.
 */
export function ensurePrivateFile(path: string, options: { sqlite?: boolean } = {}): void {
  // Never open an existing file here: closing any descriptor of a file drops every POSIX
  // lock this process holds on it, SQLite's included. 'wx' opens only a file it creates.
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  tighten(path, 0o600);
  if (options.sqlite) for (const s of SQLITE_COMPANIONS) tighten(`${path}${s}`, 0o600);
}

/** Creates `dir` (and parents) with mode 0700 when absent; tightens it to 0700 when it is looser. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700);
}

/** Mode bits of a file, or null if it does not exist. */
export function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function tighten(path: string, mode: number): void {
  const current = modeOf(path);
  if (current === null || (current & ~mode) === 0) return;
  try {
    chmodSync(path, current & mode);
  } catch (e) {
    /* c8 ignore next: a file of another owner, met only when run as another user than the data dir's */
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
}
