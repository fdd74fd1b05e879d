/**
 * /readyz and the read workers: while no read worker is ready (the first one starting and
 * warming up, or another starting after one stopped) the event loop answers every read itself,
 * so /readyz answers 503 with a problem+json naming the read workers, and 200 once one is ready;
 * /healthz answers 200 throughout. With no read workers (inline read models) nothing waits.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { until } from './fixtures/when.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import type { ReadPool } from '../projections/read-pool.js';

const THREADS = { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example', ANNALS_READ_WAIT_MS: '15000' };
const NOT_READY = /read workers: none of 1 ready yet \(starting and warming up, or starting again after one stopped\); reads are answered on the event loop meanwhile/;

t.test('/readyz waits for a read worker, at the start and while one starts again under load', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = a.runtime.reads as ReadPool;
  t.ok(pool, 'read models in their thread come with a read pool');
  await until('the read models to be ready', () => a.runtime.readModels.readiness().ready, 60_000);

  // At the start: what /readyz says follows whether the worker is ready (it may already be, on a quiet machine).
  const first = await a.app.inject({ url: '/readyz' });
  if (pool.ready === 0) {
    t.equal(first.statusCode, 503, 'the worker still starting: not ready');
    t.match(first.json(), { detail: NOT_READY, readiness: { readWorkers: { ready: false, workers: 1, running: 0 } } });
  } else t.equal(first.statusCode, 200);
  await until('/readyz 200', async () => (await a.app.inject({ url: '/readyz' })).statusCode === 200, 60_000);
  t.equal(pool.ready, 1, 'ready once the worker is');
  t.match((await a.app.inject({ url: '/readyz' })).json(), { status: 'ready', readWorkers: { ready: true, workers: 1, running: 1, problems: [] } });

  // A restart under load: reads in flight when the worker dies, more asked while it starts again.
  const worker = [...runningWorkers()].find(([, label]) => label === 'reads')?.[0];
  t.ok(worker, 'the read worker is labelled');
  const during = Promise.all(Array.from({ length: 20 }, () => a.app.inject({ url: '/v1/organizations/csto' })));
  await worker?.terminate();
  t.equal(pool.ready, 0, 'no worker ready right after it died');
  const ready = await a.app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503, 'not ready while another worker starts');
  t.equal(ready.headers['retry-after'], '1');
  t.match(ready.headers['content-type'], /^application\/problem\+json/);
  t.match(ready.json(), { type: /unavailable/, title: String, status: 503, detail: NOT_READY, readiness: { ready: false, readModels: { ready: true }, audit: { ready: true }, readWorkers: { ready: false, running: 0 } } });
  t.equal((await a.app.inject({ url: '/healthz' })).statusCode, 200, '/healthz: the process is up');
  t.equal((await a.app.inject({ url: '/v1/organizations/csto' })).statusCode, 200, 'reads go on, on the event loop');
  t.same((await during).map((r) => r.statusCode).filter((s) => s !== 200 && s !== 503), [], 'reads in flight when the worker died: answered, or 503 to retry');
  await until('/readyz 200 again', async () => (await a.app.inject({ url: '/readyz' })).statusCode === 200, 60_000);
  t.equal(pool.ready, 1, 'ready again once the new worker is');
});

t.test('no read workers (inline read models): /readyz does not wait for any', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  t.equal(a.runtime.reads, null);
  const ready = await a.app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200, ready.body);
  t.match(ready.json(), { readWorkers: { ready: true, workers: 0, running: 0, problems: [] } });
});
