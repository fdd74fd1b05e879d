/**
 * The event loop's warm-up before /readyz (src/http/warm-up.ts): holder questions asked of the
 * app itself once a read worker is ready; /readyz 503 naming it until it ends; its requests
 * neither logged, timed in the metrics, counted by the per-client rate limit, nor shed, while a
 * client's request that merely carries the header (without this process's secret) is all of
 * them. And the server (src/server.ts) runs it before its /readyz says 200.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { startTestApp } from './fixtures/app.js';
import { startServer } from './fixtures/node-child.js';
import { until } from './fixtures/when.js';
import { warmUpApp, WARM_UP_HEADER, isWarmUp } from '../src/http/warm-up.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import type { ReadPool } from '../projections/read-pool.js';

/**
 * The app's read worker stopped (another starts at once, ready a while later): the read
 * worker now starts beside the other threads (src/runtime.ts), so it is often ready by the time
 * an app is built, and a test of what the warm-up does without one makes that moment itself.
 */
async function workerGone(t: Test, pool: ReadPool | null): Promise<void> {
  await until('the read worker to be ready', () => pool !== null && pool.ready === 1, 60_000);
  const worker = [...runningWorkers()].find(([, label]) => label === 'reads')?.[0];
  t.ok(worker, 'the read worker runs');
  await worker?.terminate();
  t.equal(pool?.ready, 0, 'and is stopped: no worker is ready');
}

const HOLDER_ROUTE = '/v1/offices/:office/holder';

/** A logger at info whose lines are kept. */
function capturedLog(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The count of the request-duration histogram for a route pattern, summed over methods and statuses. */
function timed(metricsText: string, route: string): number {
  let n = 0;
  for (const line of metricsText.split('\n')) if (line.startsWith('annals_http_request_duration_seconds_count{') && line.includes(`route="${route}"`)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

t.test('the warm-up waits for a read worker, asks holder questions, and none of them is a client’s', async (t) => {
  const { log, lines } = capturedLog();
  const a = await startTestApp(t, {
    log,
    env: { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example', ANNALS_READ_WAIT_MS: '15000', ANNALS_RATE_LIMIT_ANONYMOUS: '5', ANNALS_SHED_EVENT_LOOP_DELAY_MS: '1', ANNALS_READ_TURN_BUDGET_MS: '0.001' },
  });
  t.equal(a.app.warmUp.current.state, 'none', 'an app is not warmed unless asked');
  await until('the read models to be ready', () => a.runtime.readModels.readiness().ready, 60_000);
  await workerGone(t, a.runtime.reads);

  const warming = warmUpApp(a.app, { questions: 120, ms: 60_000, concurrency: 8, waitMs: 60_000 });
  t.equal(a.app.warmUp.current.state, 'waiting', 'it waits for a read worker first');
  const during = await a.app.inject({ url: '/readyz' });
  t.equal(during.statusCode, 503, 'not ready while it has not ended');
  t.match(during.json(), { detail: /warm-up: (waiting for a read worker|asking the routes \d+ question\(s\) so far) before the first clients/, readiness: { warmUp: { ready: false } } });

  const done = await warming;
  t.match(done, { state: 'done', questions: 120 }, 'every question asked');
  t.equal(done.error, undefined);
  t.ok(done.answered > 0, `${done.answered} of them answered 200`);
  t.equal(a.runtime.reads?.ready, 1, 'a worker answered them');
  await until('/readyz 200', async () => (await a.app.inject({ url: '/readyz' })).statusCode === 200, 60_000);
  t.match((await a.app.inject({ url: '/readyz' })).json(), { status: 'ready', warmUp: { ready: true, state: 'done', questions: 120, problems: [] } });

  // Not timed in the metrics, not logged, not counted by the rate limit nor shed.
  const metrics = (await a.app.inject({ url: '/metrics', headers: a.auth('admin') })).body;
  t.equal(timed(metrics, HOLDER_ROUTE), 0, 'no holder answer timed');
  t.equal(timed(metrics, '/v1/offices'), 0, 'nor the office list it read');
  t.notMatch(metrics, /annals_http_(shed|rate_limited)_total\{[^}]*\} [1-9]/, 'nothing shed or limited');
  const incoming = lines().filter((l) => l['msg'] === 'incoming request');
  t.same(incoming.filter((l) => String((l['req'] as { url?: string } | undefined)?.url).startsWith('/v1/offices')), [], 'no request line of its questions');
  t.equal(lines().filter((l) => l['msg'] === 'request completed').length, incoming.length, 'nor of their answers: only the test’s own requests were logged');

  // A client's requests: limited after 5 a minute (the warm-up's 121 did not count), logged and timed,
  // header or not (its value is this process's secret, never sent out).
  const url = '/v1/offices/csto-secretary-general/holder?validAt=2020-01-01';
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await a.app.inject({ url, headers: i % 2 === 0 ? { [WARM_UP_HEADER]: 'a guess' } : {} })).statusCode);
  t.same(statuses.slice(0, 5).map((s) => s === 200 || s === 404 || s === 503), [true, true, true, true, true], `the first 5 answered (${statuses.join(', ')})`);
  t.equal(statuses[5], 429, 'the sixth limited');
  t.equal(timed((await a.app.inject({ url: '/metrics', headers: a.auth('admin') })).body, HOLDER_ROUTE), 6, 'a client’s holder questions timed');
  t.ok(lines().some((l) => l['msg'] === 'incoming request' && String((l['req'] as { url?: string } | undefined)?.url).startsWith('/v1/offices/csto-secretary-general/holder')), 'and logged');
  t.equal(isWarmUp({ headers: { [WARM_UP_HEADER]: 'a guess' } }), false);
});

t.test('no office, no budget, no worker: it ends at once and never holds /readyz', async (t) => {
  const empty = await startTestApp(t);
  t.match(await warmUpApp(empty.app), { state: 'done', questions: 0, answered: 0 }, 'no office to ask about');
  t.equal((await empty.app.inject({ url: '/readyz' })).statusCode, 200);
  t.match(await warmUpApp(empty.app, { questions: 0, ms: 1, concurrency: 1, waitMs: 1 }), { state: 'done', questions: 0 }, 'a budget of none');

  const threads = await startTestApp(t, { env: { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example' } });
  await workerGone(t, threads.runtime.reads);
  const nobody = await warmUpApp(threads.app, { questions: 10, ms: 1_000, concurrency: 2, waitMs: 0 });
  t.match(nobody, { state: 'done', questions: 0, error: /no read worker was ready within 0 ms/ }, 'a worker not ready in time: given up, said');

  const closed = await startTestApp(t, { env: { ANNALS_SEED: 'example', ANNALS_PRIVATE_READS: 'true' } });
  t.match(await warmUpApp(closed.app), { state: 'done', questions: 0, error: /the office list answered 401/ }, 'reads behind a token: ended early, said');
  t.equal((await closed.app.inject({ url: '/readyz' })).statusCode, 200, 'and /readyz not held');
});

t.test('a question that never answers does not hold /readyz: past the time and the grace, the warm-up gives up, said', async (t) => {
  // An app whose holder route never answers, as if the read worker were stuck in a statement:
  // the real app cannot be made to hang a question on purpose, so only inject is stood in for.
  const real = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  let asked = 0;
  const stuck = Object.assign(Object.create(real.app) as typeof real.app, {
    readPool: null,
    warmUp: { current: real.app.warmUp.current },
    inject: (o: { url: string }) => (o.url.startsWith('/v1/offices?') ? real.app.inject(o) : (asked++, new Promise(() => undefined))),
  });
  const t0 = performance.now();
  const w = await warmUpApp(stuck, { questions: 10, ms: 20, concurrency: 2, waitMs: 0, graceMs: 50 });
  t.match(w, { state: 'done', questions: 2, answered: 0, error: /had not answered its questions after 70 ms: given up, \/readyz not held/ }, 'given up on the two in flight');
  t.equal(asked, 2, 'no question asked past the two that hang');
  t.ok(performance.now() - t0 < 30_000, 'ended, not held');
  t.equal(stuck.warmUp.current.state, 'done', 'its state says done, so /readyz is not held');
});

t.test('the server warms its routes before /readyz says 200, and logs that, not the questions', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-warm-up-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer(t, { dataDir: dir, env: { ANNALS_SEED: 'example', ANNALS_READ_MODELS: 'thread', ANNALS_TOKENS: 'admin:warm-up-admin-token-0123456789' }, readyMs: 120_000 });
  const seen = server.ready as { warmUp?: { state: string; questions: number } };
  t.equal(seen.warmUp?.state, 'done', 'ready once the warm-up has ended');
  t.ok((seen.warmUp?.questions ?? 0) > 0, `${seen.warmUp?.questions} questions asked before`);
  await until('the warm-up logged', () => /"msg":"warm-up done"/.test(server.out()), 10_000);
  t.notMatch(server.out(), /"url":"\/v1\/offices/, 'none of its requests logged');
  const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: 'Bearer warm-up-admin-token-0123456789' } })).text();
  t.equal(timed(metrics, HOLDER_ROUTE), 0, 'nor timed');
});
