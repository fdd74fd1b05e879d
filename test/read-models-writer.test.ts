/**
 * ANNALS_READ_MODELS=writer and writer-split (a prototype, #19): the read models applied on the
 * store writer's thread after each COMMIT (projections/writer-apply.ts). A write's 201 comes
 * after the apply (a read right after it, through the read worker, finds it); the status and
 * /readyz answer; the writer thread terminated (as a crash would end it) starts again at the
 * next append and its read models catch up from the log; a restart on the same data dir
 * catches up the read models from their checkpoint; the read models equal a rebuild from the log.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { createLogger } from '../src/logging.js';
import type { Runtime } from '../src/runtime.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { startTestApp } from './fixtures/app.js';
import { dumpTables } from './fixtures/history.js';
import { until } from './fixtures/when.js';

const source = { title: 'Test', publisher: 'Annals' };

for (const mode of ['writer', 'writer-split'] as const) {
  t.test(`ANNALS_READ_MODELS=${mode}: applied on the writer thread, answered after the apply`, async (t) => {
    const env = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: mode, ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '120000' };
    const warned: string[] = [];
    const log = createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, done) => (warned.push(String((JSON.parse(String(c)) as { msg: string }).msg)), done()) }) });
    const first = await startTestApp(t, { env, log });
    const { app, runtime } = first;
    t.same([...runningWorkers().values()].sort(), ['audit follower', 'reads', 'store writer'], 'no read-model thread');
    const org = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'OrganizationRegistered', data: { key: 'org', name: 'Org' }, source } });
    t.equal(org.statusCode, 201, org.body);
    const people = await Promise.all(
      Array.from({ length: 12 }, (_, i) => app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: `p${i}`, name: `Person ${i}` }, source } })),
    );
    t.same(people.map((r) => r.statusCode), Array(12).fill(201));
    for (let i = 0; i < 12; i++) t.equal((await app.inject({ url: `/v1/people/p${i}` })).statusCode, 200, `p${i} read right after its 201`);
    t.equal(runtime.readModels.applied(), await runtime.store.head(), 'applied up to the head');
    const status = await app.inject({ url: '/v1/admin/projections', headers: first.auth('admin') });
    t.equal(status.statusCode, 200, status.body);
    t.match(status.json(), { checkpoint: await runtime.store.head(), lag: { events: 0 }, parked: { count: 0 } });
    await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200, 120_000);

    // A rebuild while the service runs: reads answered from the file in use, appends go on, then the fresh file swapped in.
    const many = Array.from({ length: 3000 }, (_, i) => ({ type: 'PersonRegistered', data: { key: `m${i}`, name: `Many ${i}` }, source }));
    t.equal((await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: first.auth('recorder'), payload: many })).statusCode, 200);
    const rebuilt = app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: first.auth('admin') });
    let done = false;
    void rebuilt.then(() => (done = true));
    const during: number[] = [];
    let appended = 0;
    for (let i = 0; !done || i < 3; i++) {
      during.push((await app.inject({ url: `/v1/people/p${i % 12}` })).statusCode);
      const w = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: `d${i}`, name: `During ${i}` }, source } });
      t.equal(w.statusCode, 201, w.body);
      appended = i + 1;
    }
    t.ok(during.length >= 3 && during.every((c) => c === 200), `every read answered 200 during the rebuild (${during.length})`);
    const answer = await rebuilt;
    t.equal(answer.statusCode, 200, answer.body);
    t.equal(runtime.readModels.readiness().rebuilding, false);
    await until('the appends made during the rebuild applied', async () => runtime.readModels.applied() === (await runtime.store.head()), 60_000);
    for (const i of [0, appended - 1]) t.equal((await app.inject({ url: `/v1/people/d${i}` })).statusCode, 200, `d${i}, recorded during the rebuild, read after it`);
    t.equal((await app.inject({ url: '/v1/people/m2999' })).statusCode, 200);
    const fresh0 = join(first.dataDir, 'fresh0.db');
    {
      const s = openSqliteStore(join(first.dataDir, 'events.db'), { readOnly: true });
      await rebuildReadModels({ store: s, path: fresh0, log: pino({ level: 'silent' }) });
      await s.close();
    }
    t.same(dumpTables(join(first.dataDir, 'readmodels.db')), dumpTables(fresh0), 'after a live rebuild and the appends during it: equal to a rebuild from the log');

    // The writer thread dies: the next append starts another, whose read models catch up from their checkpoint.
    const writer = [...runningWorkers()].find(([, label]) => label === 'store writer')?.[0];
    await writer?.terminate();
    const after = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'p-after', name: 'After the restart' }, source } });
    t.equal(after.statusCode, 201, after.body);
    t.equal((await app.inject({ url: '/v1/people/p-after' })).statusCode, 200, 'applied by the new writer thread before the 201');
    t.same(warned.filter((m) => m.includes('answering anyway')), [], 'every 201 waited for the apply');
    await app.close();
    await runtime.close();

    // Read models behind the log (a thread mode wrote the log meanwhile, nothing applied here): caught up at the next start.
    const again = await startTestApp(t, { env, dataDir: first.dataDir });
    t.equal((await again.app.inject({ url: '/v1/people/p3' })).statusCode, 200);
    t.equal(again.runtime.readModels.applied(), await again.runtime.store.head());
    await again.app.close();
    await again.runtime.close();

    const store = openSqliteStore(join(first.dataDir, 'events.db'), { writer: 'inline' });
    t.teardown(() => store.close());
    const fresh = join(first.dataDir, 'fresh.db');
    await rebuildReadModels({ store, path: fresh, log: pino({ level: 'silent' }) });
    t.same(dumpTables(join(first.dataDir, 'readmodels.db')), dumpTables(fresh), 'the read models applied on the writer thread equal a rebuild from the log');
  });
}

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
