/**
 * Issue #17, finding 6: GET /metrics (admin token), Prometheus text format, parsed by a
 * Prometheus text-format parser: every listed metric is there, the worker threads' ones
 * (the store writer's commit latency, a restart of the read-model thread) included.
 */
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { until } from './fixtures/when.js';

const LISTED = [
  ['annals_http_request_duration_seconds', 'HISTOGRAM', 'request durations by route and status'],
  ['annals_facts_recorded_total', 'COUNTER', 'facts recorded by type'],
  ['annals_store_append_duration_seconds', 'HISTOGRAM', 'append latency'],
  ['annals_store_commit_duration_seconds', 'HISTOGRAM', 'commit latency'],
  ['annals_record_group_size', 'HISTOGRAM', 'group sizes'],
  ['annals_read_model_lag_events', 'GAUGE', 'read-model lag in events'],
  ['annals_read_model_lag_seconds', 'GAUGE', 'read-model lag in seconds'],
  ['annals_audit_lag_events', 'GAUGE', 'audit lag in events'],
  ['annals_audit_lag_seconds', 'GAUGE', 'audit lag in seconds'],
  ['annals_read_model_parked_events', 'GAUGE', 'parked events'],
  ['nodejs_eventloop_lag_p99_seconds', 'GAUGE', 'event-loop delay'],
  ['annals_worker_restarts_total', 'COUNTER', 'worker restarts'],
  ['annals_http_shed_total', 'COUNTER', 'shed requests'],
  ['annals_http_rate_limited_total', 'COUNTER', 'rate-limited requests'],
] as const;

const value = (families: Family[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const family = families.find((x) => x.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) return undefined;
  return Number(sample.value ?? sample.count);
};

t.test('/metrics: admin only, every listed metric, worker threads included', async (t) => {
  const a = await startTestApp(t, {
    env: { ANNALS_SQLITE_WRITER: 'thread', ANNALS_READ_MODELS: 'thread', ANNALS_RATE_LIMIT_FAILED_AUTH: '1', ANNALS_SHED_EVENT_LOOP_DELAY_MS: '1' },
  });
  t.equal((await a.app.inject({ url: '/metrics' })).statusCode, 401);
  t.equal((await a.app.inject({ url: '/metrics', headers: a.auth('auditor') })).statusCode, 403);

  for (const body of [f.organization('m-org'), f.person('m-p', 'P'), f.state('m-s')]) {
    t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: body })).statusCode, 201);
  }
  // Two failed authentications from one client: the second is over a limit of 1.
  for (let i = 0; i < 2; i++) await a.app.inject({ url: '/v1/audit/events', headers: { authorization: 'Bearer a-wrong-token-of-some-length' } });
  // The read-model thread dies; another starts a second later.
  const worker = (a.runtime.readModels as unknown as { worker(): { terminate(): Promise<number> } }).worker();
  await worker.terminate();
  // (A start can take longer than the wait on a loaded machine; the restart is counted either way.)
  await until('another read-model thread to start', () => a.runtime.readModels.readiness().state !== 'stopped', 5_000).catch(() => undefined);
  // Something holds the event loop 15 ms of every 20: a read is shed. (The writer thread
  // sends its commit latencies every 250 ms meanwhile.)
  const busy = setInterval(() => {
    const until = performance.now() + 15;
    while (performance.now() < until);
  }, 20);
  t.teardown(() => clearInterval(busy));
  const pressure = a.app as unknown as { isUnderPressure(): boolean };
  await until('the plugin to see the pressure', () => pressure.isUnderPressure(), 10_000).catch(() => undefined);
  t.equal((await a.app.inject({ url: '/v1/people' })).statusCode, 503);
  clearInterval(busy);
  // The writer thread sends its commit latencies every 250 ms.
  const scrape = () => a.app.inject({ url: '/metrics', headers: a.auth('admin') });
  await until('the writer thread to send its commit latencies', async () => (value(parsePrometheusTextFormat((await scrape()).body), 'annals_store_commit_duration_seconds') ?? 0) >= 3);

  const res = await scrape();
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(res.body);
  for (const [name, type, what] of LISTED) {
    const family = families.find((x) => x.name === name);
    t.equal(family?.type, type, `${what}: ${name}`);
  }
  t.equal(value(families, 'annals_facts_recorded_total', { type: 'OrganizationRegistered' }), 2);
  t.equal(value(families, 'annals_facts_recorded_total', { type: 'PersonRegistered' }), 1);
  t.ok((value(families, 'annals_store_commit_duration_seconds') ?? 0) >= 3, 'commits timed on the writer thread reach the registry');
  t.ok((value(families, 'annals_store_append_duration_seconds') ?? 0) >= 3);
  t.equal(value(families, 'annals_record_group_size'), 3, 'three groups of one');
  // The parser folds a histogram's label sets into one (its prom2json shape has no labels on
  // histograms), so the per-route counts are read from their _count lines.
  const count = (labels: string): number => Number(new RegExp(`^annals_http_request_duration_seconds_count\\{${labels}\\} (\\d+)$`, 'm').exec(res.body)?.[1]);
  t.equal(count('method="POST",route="/v1/facts",status="201"'), 3);
  t.equal(count('method="GET",route="/v1/people",status="503"'), 1);
  t.equal(value(families, 'annals_http_rate_limited_total', { limiter: 'failed-auth' }), 1);
  // At least the read above (starting two threads may have loaded the loop earlier, too).
  t.ok((value(families, 'annals_http_shed_total', { reason: 'event-loop-delay' }) ?? 0) >= 1);
  t.equal(value(families, 'annals_worker_restarts_total', { worker: 'read models' }), 1);
  t.equal(value(families, 'annals_read_model_lag_events'), 0, 'caught up');
  t.equal(value(families, 'annals_audit_lag_events'), 0);
  t.equal(value(families, 'annals_read_model_parked_events'), 0);
  t.ok((value(families, 'nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0);
});

t.test('lag: events not yet applied, counted, and how long the oldest waited', async (t) => {
  const { lagBehind } = await import('../src/metrics/lag.js');
  const a = await startTestApp(t, { store: 'memory' });
  t.same(await lagBehind(a.runtime.store, null), { events: 0, seconds: 0 }, 'an empty log');
  for (const body of [f.organization('l-org'), f.person('l-p', 'P')]) await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: body });
  const all = await a.runtime.store.readAll();
  const lag = await lagBehind(a.runtime.store, (all[0] as { position: string }).position);
  t.equal(lag.events, all.length - 1);
  t.ok(lag.seconds >= 0);
  t.same(await lagBehind(a.runtime.store, (all.at(-1) as { position: string }).position), { events: 0, seconds: 0 });
});
