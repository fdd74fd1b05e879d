/**
 * A read worker's warm-up (projections/read-warm-up.ts; issue #12, the cold start): synthetic
 * holder questions before the worker says ready. It asks what its budget allows and no more,
 * leaves the answers of the real questions after it exactly what a connection that never warmed
 * up gives, ends the snapshot it read (a write applied after it is seen by the next question),
 * and never throws: a failing read ends it early, said in its result. A worker of the server
 * reports its warm-up when it is ready.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { ReadQueries, openReadModels, openReader } from '../projections/index.js';
import { warmUp } from '../projections/read-warm-up.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';
import { startTestApp } from './fixtures/app.js';
import { until } from './fixtures/when.js';

async function recorded(t: Test, facts: number) {
  const log = new TestLog();
  recordRichHistory(log, facts, 7, { offices: 4, people: 8, sameInstant: 0.2 });
  const dir = await mkdtemp(join(tmpdir(), 'annals-warm-up-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'readmodels.db');
  const models = await openReadModels({ store: log, path, log: pino({ level: 'silent' }) });
  await models.caughtUp();
  t.teardown(() => models.close());
  return { log, path, models };
}

t.test('asks what its budget allows, and the answers after it are those of a connection that never warmed up', async (t) => {
  const { path } = await recorded(t, 200);
  const warm = new ReadQueries(openReader(path));
  const cold = new ReadQueries(openReader(path));
  t.same(warmUp(warm, { questions: 0, ms: 1000 }), { questions: 0, ms: 0 }, 'a budget of no questions asks none');
  const done = warmUp(warm, { questions: 37, ms: 60_000 });
  t.equal(done.questions, 37, 'as many questions as the budget allows');
  t.equal(done.error, undefined);
  t.equal(warmUp(warm, { questions: 1_000_000, ms: 0 }).questions, 0, 'a spent time budget stops it before its first question');
  const offices = cold.offices(undefined, new Date().toISOString(), { after: null, limit: 500 })?.items ?? [];
  t.ok(offices.length > 0, 'the record has offices to ask about');
  const k = new Date().toISOString();
  for (const o of offices) for (const day of ['1999', '2005-06', '2012-03-04', '2030-01-01']) t.equal(warm.holderJson(o.id, day, k), cold.holderJson(o.id, day, k), `holder of ${o.id} on ${day}`);
});

t.test('ends the snapshot it read: a write applied after it is seen by the next question', async (t) => {
  const { log, path, models } = await recorded(t, 120);
  // A long snapshot, as a worker holds one: only invalidate() (or SNAPSHOT_MS) ends it.
  const q = new ReadQueries(openReader(path), false, 3_600_000);
  const before = q.snapshot().position;
  warmUp(q, { questions: 10, ms: 60_000 });
  recordRichHistory(log, 40, 8, { offices: 4, people: 8, sameInstant: 0.2 });
  await until('the read models to apply the new facts', () => models.applied() !== before, 30_000);
  t.equal(q.snapshot().position, models.applied(), 'the next question reads what is applied now, not the warm-up’s snapshot');
});

t.test('never throws: a failing read ends it early, said in its result', async (t) => {
  const { path } = await recorded(t, 60);
  const db = openReader(path);
  const q = new ReadQueries(db);
  db.close();
  const done = warmUp(q, { questions: 10, ms: 60_000 });
  t.equal(done.questions, 0);
  t.match(done.error, /database connection is not open/);
});

t.test('a read worker of the server warms up before it is ready, and says so', async (t) => {
  // A restart on recorded data, as in production: since the read worker starts beside the
  // writer (session 36) it opens and warms up before a seed of an empty store is recorded, so
  // the example is recorded by a first start and the worker's warm-up is that of the second.
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-warm-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const closers: Array<() => unknown> = [];
  await startTestApp({ teardown: (fn) => closers.push(fn) }, { dataDir, env: { ANNALS_SEED: 'example' } });
  for (const close of closers) await close();
  const a = await startTestApp(t, { dataDir, env: { ANNALS_READ_MODELS: 'thread' } });
  const pool = a.runtime.reads;
  t.ok(pool, 'read models in their thread come with a read pool');
  await until('its worker to be ready', () => (pool?.ready ?? 0) > 0, 60_000);
  const [w] = pool?.warmedUp ?? [];
  t.ok(w && w.questions > 0, `it asked ${w?.questions} holder questions in ${w?.ms.toFixed(1)} ms`);
  t.equal(w?.error, undefined);
  const answer = await a.app.inject({ url: '/v1/offices/csto-secretary-general/holder?validAt=2026-06-01' });
  t.equal(answer.statusCode, 200, 'and then answers');
});
