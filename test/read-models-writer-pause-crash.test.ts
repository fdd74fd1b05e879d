/**
 * ANNALS_READ_MODELS=writer: the store writer's thread dies while a live rebuild has paused
 * its apply (between `pause` and the swap), and the next append starts another thread. That
 * thread starts paused too (WriterInit.readModels.paused). Before, it opened readmodels.db at
 * its start: it applied to the file the swap was about to replace (work thrown away with it)
 * and said `live` while the rebuild had the apply paused. SQLite itself keeps such a
 * connection from deleting the new file's WAL when it closes (it sees the file was moved),
 * and the test checks that too: the crash happens in that window, appends follow the swap,
 * and the read models, reopened from disk, equal a rebuild from the log.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { openSqliteStore, type SqliteEventStore } from '../src/store/sqlite.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { startTestApp } from './fixtures/app.js';
import { dumpTables } from './fixtures/history.js';
import { until } from './fixtures/when.js';

const source = { title: 'Test', publisher: 'Annals' };

t.test('the writer thread dies during a live rebuild\'s pause: the new one starts paused, and the swap loses nothing', async (t) => {
  // A short wait for the apply: the append made during the pause answers 201 without it.
  const env = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'writer', ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '300' };
  const first = await startTestApp(t, { env });
  const { app, runtime } = first;
  const post = (key: string) => app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key, name: key }, source } });
  const many = Array.from({ length: 500 }, (_, i) => ({ type: 'PersonRegistered', data: { key: `m${i}`, name: `Many ${i}` }, source }));
  t.equal((await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: first.auth('recorder'), payload: many })).statusCode, 200);
  await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200, 120_000);

  // The crash, in the window between the pause and the swap: the rebuild hears `paused` only after it.
  const store = runtime.store as SqliteEventStore;
  const onWriter = store.readModelsOnWriter.bind(store);
  let crashed = 0;
  store.readModelsOnWriter = async (op) => {
    await onWriter(op);
    if (op !== 'pause') return;
    const writer = [...runningWorkers()].find(([, label]) => label === 'store writer')?.[0];
    await writer?.terminate();
    crashed++;
    const during = await post('during-pause');
    t.equal(during.statusCode, 201, `an append during the pause starts a new writer thread and is recorded (${during.body})`);
    const state = (await app.inject({ url: '/v1/admin/projections', headers: first.auth('admin') })).json() as { state: string };
    t.not(state.state, 'live', 'the new writer thread applies nothing while the rebuild is paused');
  };
  const rebuilt = await app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: first.auth('admin') });
  t.equal(rebuilt.statusCode, 200, rebuilt.body);
  t.equal(crashed, 1, 'the writer thread was ended during the pause');

  // After the swap and the resume: appends applied to the new file, read back.
  for (let i = 0; i < 20; i++) t.equal((await post(`after-${i}`)).statusCode, 201);
  await until('applied up to the head', async () => runtime.readModels.applied() === (await runtime.store.head()), 60_000);
  for (const key of ['during-pause', 'after-0', 'after-19', 'm499']) t.equal((await app.inject({ url: `/v1/people/${key}` })).statusCode, 200, `${key} read after the rebuild`);
  const path = join(first.dataDir, 'readmodels.db');
  t.ok(existsSync(`${path}-wal`), 'the file in use still has its WAL (a connection on the replaced file did not delete it)');
  await app.close();
  await runtime.close();

  // From disk alone: what was applied is there, and equal to a rebuild from the log.
  const s = openSqliteStore(join(first.dataDir, 'events.db'), { readOnly: true });
  t.teardown(() => s.close());
  const fresh = join(first.dataDir, 'fresh.db');
  await rebuildReadModels({ store: s, path: fresh, log: pino({ level: 'silent' }) });
  t.same(dumpTables(path), dumpTables(fresh), 'the read models on disk equal a rebuild from the log');
});
