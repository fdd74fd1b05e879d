/**
 * The embedded store of a benchmark's data dir, opened as the service opens it: every row
 * sealed with the data dir's audit key (created there when absent, as a first start does), so
 * the server a benchmark starts on that dir takes the record in (an unsealed row is parked by
 * the audit follower, see the README's Integrity section).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { keyPaths, loadKeys } from '../src/audit/keys.js';
import { openSqliteStore, type SqliteEventStore, type SqliteStoreOptions } from '../src/store/sqlite.js';

export function openBenchStore(dataDir: string, options: Omit<SqliteStoreOptions, 'sealKey'> = {}): SqliteEventStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { sealKey } = loadKeys(keyPaths(dataDir), pino({ level: 'silent' }));
  return openSqliteStore(join(dataDir, 'events.db'), { ...options, sealKey });
}
