/**
 * The embedded store of a benchmark's data dir, opened as the service opens it: every row
 * sealed with the data dir's audit key (created there when absent, as a first start does), so
 * the server a benchmark starts on that dir takes the record in (an unsealed row is parked by
 * the audit follower, see the README's Integrity section).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { monotonicFactory } from 'ulid';
import { ulidToUuid } from '../events/index.js';
import type { NewEvent } from '../src/store/port.js';
import { benchHistory } from './history.js';
import { keyPaths, loadKeys } from '../src/audit/keys.js';
import { openSqliteStore, type SqliteEventStore, type SqliteStoreOptions } from '../src/store/sqlite.js';

export function openBenchStore(dataDir: string, options: Omit<SqliteStoreOptions, 'sealKey'> = {}): SqliteEventStore {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { sealKey } = loadKeys(keyPaths(dataDir), pino({ level: 'silent' }));
  return openSqliteStore(join(dataDir, 'events.db'), { ...options, sealKey });
}

/**
 * Records the read benchmark's history (bench/history.ts, seed 42) into `store` through the
 * store port, 5,000 appends in flight, telling `onProgress` every 5,000 facts. `offices`
 * receives each office's factId as it is made. Answers how many facts and how long.
 */
export async function recordBenchHistory(
  store: SqliteEventStore,
  size: { facts: number; offices: number; people: number },
  onProgress: (recorded: number, seconds: number) => void = () => undefined,
  offices: string[] = [],
): Promise<{ recorded: number; seconds: number }> {
  const source = { title: 'Benchmark source', publisher: 'bench' };
  const t0 = performance.now();
  let batch: Promise<unknown>[] = [];
  let recorded = 0;
  for (const f of benchHistory({ ...size, seed: 42, newId: monotonicFactory() }, offices)) {
    const e: NewEvent = { id: ulidToUuid(f.factId), type: f.type, data: f.data, metadata: { factId: f.factId, recordedBy: 'recorder:bench', source, correlationId: `bench-${recorded}`, schemaVersion: 1 } };
    batch.push(store.append(f.stream, [e], 'any'));
    recorded += 1;
    if (batch.length >= 5000) {
      await Promise.all(batch);
      batch = [];
      onProgress(recorded, (performance.now() - t0) / 1000);
    }
  }
  await Promise.all(batch);
  return { recorded, seconds: (performance.now() - t0) / 1000 };
}
