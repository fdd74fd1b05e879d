/**
 * ANNALS_READ_MODELS=writer, its faults: an apply that fails on the writer thread (a write
 * lock held on readmodels.db by another connection, as an operator's shell would) shows in
 * /readyz and the status, the appends meanwhile are committed and answered (after
 * ANNALS_READ_WAIT_MS), and the read models catch up once the lock goes; a start whose read
 * models are far behind answers appends while they catch up, /readyz 503 until they have.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import type { Runtime } from '../src/runtime.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';
import { dumpTables } from './fixtures/history.js';
import { until } from './fixtures/when.js';

const source = { title: 'Test', publisher: 'Annals' };

t.test('ANNALS_READ_MODELS=writer: an apply that fails shows in /readyz; appends during a catch-up are committed and answered; caught up after', async (t) => {
  const env = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'writer', ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '300' };
  const first = await startTestApp(t, { env });
  const many = Array.from({ length: 2000 }, (_, i) => ({ type: 'PersonRegistered', data: { key: `m${i}`, name: `Many ${i}` }, source }));
  t.equal((await first.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: first.auth('recorder'), payload: many })).statusCode, 200);
  await until('/readyz 200', async () => (await first.app.inject({ url: '/readyz' })).statusCode === 200, 120_000);
  // An operator's shell holds a write transaction on the read models: the writer thread's apply fails (SQLITE_BUSY).
  const lock = new Database(join(first.dataDir, 'readmodels.db'));
  t.teardown(() => void (lock.open && lock.close()));
  lock.exec('BEGIN IMMEDIATE');
  const held = await first.app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'held', name: 'Held' }, source } });
  t.equal(held.statusCode, 201, 'the append is committed and answered (after ANNALS_READ_WAIT_MS) while the read models cannot apply it');
  await until('/readyz 503', async () => (await first.app.inject({ url: '/readyz' })).statusCode === 503, 60_000);
  const ready = await first.app.inject({ url: '/readyz' });
  t.match(ready.body, /read models: retrying after a failure \(database is locked\)/, ready.body);
  t.match(runtime(first).readModels.readiness(), { ready: false, state: 'retrying', lastError: 'database is locked' });
  lock.exec('ROLLBACK');
  await until('/readyz 200 again', async () => (await first.app.inject({ url: '/readyz' })).statusCode === 200, 60_000);
  t.equal((await first.app.inject({ url: '/v1/people/held' })).statusCode, 200, 'applied once the lock went');
  await first.app.close();
  await first.runtime.close();

  // A start whose read models are far behind (gone: the whole log to apply), the file locked meanwhile so the catch-up cannot end.
  rmSync(join(first.dataDir, 'readmodels.db'));
  for (const suffix of ['-wal', '-shm']) rmSync(join(first.dataDir, `readmodels.db${suffix}`), { force: true });
  const again = await startTestApp(t, { env, dataDir: first.dataDir });
  const lock2 = new Database(join(first.dataDir, 'readmodels.db'));
  t.teardown(() => void (lock2.open && lock2.close()));
  lock2.exec('BEGIN IMMEDIATE');
  const during = await again.app.inject({ method: 'POST', url: '/v1/facts', headers: again.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'during-start', name: 'During the start' }, source } });
  t.equal(during.statusCode, 201, 'an append right after a start whose read models are far behind (their catch-up running, or failing on the lock) is committed and answered, not held until they caught up');
  t.equal(runtime(again).readModels.readiness().ready, false, 'not ready until caught up');
  t.equal((await again.app.inject({ url: '/readyz' })).statusCode, 503);
  lock2.exec('ROLLBACK');
  lock2.close();
  await until('caught up', async () => runtime(again).readModels.readiness().ready && runtime(again).readModels.applied() === (await again.runtime.store.head()), 120_000);
  t.equal((await again.app.inject({ url: '/v1/people/during-start' })).statusCode, 200);
  await again.app.close();
  await again.runtime.close();
  const store = openSqliteStore(join(first.dataDir, 'events.db'), { readOnly: true });
  t.teardown(() => store.close());
  const fresh = join(first.dataDir, 'fresh.db');
  await rebuildReadModels({ store, path: fresh, log: pino({ level: 'silent' }) });
  t.same(dumpTables(join(first.dataDir, 'readmodels.db')), dumpTables(fresh), 'caught up after the failures: equal to a rebuild from the log');
});

function runtime(a: { runtime: Runtime }): Runtime {
  return a.runtime;
}
