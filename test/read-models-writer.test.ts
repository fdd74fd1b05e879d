/**
 * ANNALS_READ_MODELS=writer and writer-split (a prototype, #19): the read models applied on the
 * store writer's thread after each COMMIT (projections/writer-apply.ts). A write's 201 comes
 * after the apply (a read right after it, through the read worker, finds it); the status and
 * /readyz answer; the writer thread terminated (as a crash would end it) starts again at the
 * next append and its read models catch up from the log; a restart on the same data dir
 * catches up the read models from their checkpoint; the read models equal a rebuild from the log; a rebuild while the service runs (writer):
 * reads answered and appends made during it, then equal to a rebuild from the log.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { createLogger } from '../src/logging.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
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
    if (mode === 'writer') await liveRebuild(t, first);

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

async function liveRebuild(t: Test, first: TestApp): Promise<void> {
  const { app, runtime } = first;
  const many = Array.from({ length: 3000 }, (_, i) => ({ type: 'PersonRegistered', data: { key: `m${i}`, name: `Many ${i}` }, source }));
  t.equal((await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: first.auth('recorder'), payload: many })).statusCode, 200);
  const t0 = performance.now();
  const rebuilt = app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: first.auth('admin') });
  let done = false;
  void rebuilt.then(() => (done = true));
  const during: number[] = [];
  let appended = 0;
  for (let i = 0; !done || i < 3; i++) {
    during.push((await app.inject({ url: `/v1/people/p${i % 12}` })).statusCode);
    if (i >= 20) continue;
    const w = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: `d${i}`, name: `During ${i}` }, source } });
    t.equal(w.statusCode, 201, w.body);
    appended = i + 1;
  }
  t.ok(during.length >= 3 && during.every((c) => c === 200), `every read answered 200 during the rebuild (${during.length})`);
  const answer = await rebuilt;
  t.comment(`rebuild answered after ${Math.round(performance.now() - t0)} ms, ${during.length} reads`);
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
}
