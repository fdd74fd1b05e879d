/**
 * better-sqlite3 errors become port errors here and nowhere else. Lock timeouts and I/O
 * trouble are "unavailable, retry later"; anything else (a bug, a corrupt file) passes
 * through unchanged so it is not mistaken for a transient condition.
 */
import { StoreUnavailableError } from './errors.js';

const UNAVAILABLE = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
]);

export function translateSqliteError(e: unknown): unknown {
  if (e instanceof StoreUnavailableError) return e;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return e;
  if (UNAVAILABLE.has(baseCode(code)) || code.startsWith('SQLITE_IOERR')) {
    return new StoreUnavailableError(`embedded store unavailable: ${(e as Error).message} (${code})`, { cause: e });
  }
  return e;
}

/** `SQLITE_BUSY_SNAPSHOT` -> `SQLITE_BUSY`: extended codes share the primary's meaning here. */
function baseCode(code: string): string {
  const m = /^SQLITE_[A-Z]+/.exec(code);
  return m === null ? code : m[0];
}
