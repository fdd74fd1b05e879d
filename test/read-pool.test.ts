/**
 * Reads off the event loop (projections/read-pool.ts; issues #12 and #17): with the read
 * models in their thread, read questions are answered by a read worker with its own
 * connection. Its answers equal the event loop's, byte for byte and ETag for ETag; a read
 * right after a write's 201 sees the write (the worker's snapshot ends when the read models
 * applied something); a full pool is a 503 with Retry-After; a worker that dies fails its
 * questions as 503 and another takes its place.
 */
import t, { type Test } from 'tap';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';
import { until } from './fixtures/when.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReadPool } from '../projections/read-pool.js';

const THREADS = { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example', ANNALS_READ_WAIT_MS: '15000' };
const source = { title: 'Test', publisher: 'Annals' };

async function poolReady(t: Test, a: TestApp): Promise<ReadPool> {
  const pool = a.runtime.reads;
  t.ok(pool, 'read models in their thread come with a read pool');
  await until('its worker to be ready', () => !pool || pool.ready > 0, 60_000).catch(() => undefined);
  t.equal(pool?.ready, 1, 'its worker is ready');
  return pool as ReadPool;
}

/** Counts the questions the pool answered (not those answered on the event loop). */
function counting(pool: ReadPool): { count: number } {
  const c = { count: 0 };
  const run = pool.run.bind(pool);
  pool.run = ((method, args) => {
    const p = run(method, args);
    if (p) c.count += 1;
    return p;
  }) as ReadPool['run'];
  return c;
}

t.test('the worker answers as the event loop does, byte for byte, ETag for ETag', async (t) => {
  const clock = manualClock();
  const a = await startTestApp(t, { env: THREADS, clock: clock.now });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // Every question pinned to one moment (a default knownAt is the time of each request), then a
  // fact recorded after it: answers at that moment are immutable.
  const past = clock.iso();
  clock.advance();
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'later', name: 'Later' }, source } })).statusCode, 201);
  const seen = (await a.app.inject({ url: '/v1/organizations?limit=500' })).json() as { organizations: { id: string }[] };
  const org = seen.organizations[0]?.id as string;
  const urls = [
    '/v1/offices/csto-secretary-general/holder?validAt=2026-06-01',
    '/v1/offices/csto-secretary-general/holders',
    '/v1/offices?limit=2',
    '/v1/offices?organization=csto',
    '/v1/organizations',
    '/v1/organizations?parent=csto',
    '/v1/organizations/csto',
    '/v1/organizations/csto/chair?validAt=2026-06-01',
    '/v1/organizations/csto/chairs',
    '/v1/organizations/csto/members?validAt=2026',
    '/v1/people?limit=3',
    '/v1/people/kg-president',
    '/v1/sessions?organization=csto',
    '/v1/sessions?organization=csto&validAt=2025',
    '/v1/documents?organization=csto',
    '/v1/timeline?organization=csto&limit=5',
    `/v1/organizations/${org}`,
    '/v1/offices/no-such-office/holder',
    '/v1/sessions?organization=no-such-org',
  ];
  const runtime = a.runtime as { reads?: ReadPool | null };
  const body = (text: string): string => text.replace(/"requestId":"[^"]*"/, '');
  for (const url of urls.map((u) => `${u}${u.includes('?') ? '&' : '?'}knownAt=${past}`)) {
    const before = asked.count;
    const pooled = await a.app.inject({ url });
    t.equal(asked.count, before + 1, `${url}: answered by the worker`);
    runtime.reads = null;
    const here = await a.app.inject({ url });
    runtime.reads = pool;
    t.equal(pooled.statusCode, here.statusCode, `${url}: ${pooled.statusCode}`);
    t.equal(body(pooled.body), body(here.body), `${url}: the same answer`);
    t.equal(pooled.headers['etag'], here.headers['etag'], `${url}: the same ETag`);
    t.equal(pooled.headers['cache-control'], here.headers['cache-control'], `${url}: the same Cache-Control`);
    t.equal(pooled.headers['link'], here.headers['link'], `${url}: the same Link`);
  }
  const holder = `/v1/offices/csto-secretary-general/holder?validAt=2026-06-01&knownAt=${past}`;
  const first = await a.app.inject({ url: holder });
  t.match(first.headers['cache-control'], /immutable/, 'a past answer read by the worker is immutable (its snapshot is the answer’s)');
  const again = await a.app.inject({ url: holder, headers: { 'if-none-match': String(first.headers['etag']) } });
  t.equal(again.statusCode, 304, 'and its ETag answers 304');
});

t.test('a read after a write’s 201 sees the write, though the worker had a snapshot open', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  for (let i = 0; i < 5; i++) {
    const key = `p-new-${i}`;
    // Opens the worker's snapshot (held up to SNAPSHOT_MS when nothing tells it otherwise).
    const before = (await a.app.inject({ url: `/v1/people?q=Newcomer${i}x` })).json() as { people: unknown[] };
    t.same(before.people, [], `${key}: not there yet`);
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key, name: `Newcomer${i}x` }, source } });
    t.equal(res.statusCode, 201, res.body);
    const after = (await a.app.inject({ url: `/v1/people?q=Newcomer${i}x` })).json() as { people: { key: string }[] };
    t.same(after.people.map((p) => p.key), [key], `${key}: read at once after the 201`);
    t.equal((await a.app.inject({ url: `/v1/people/${key}` })).statusCode, 200);
  }
  t.equal(asked.count, 15, 'every read went to the worker');
});

t.test('a worker’s snapshot ends once the read models applied something (held open a minute otherwise)', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const models = a.runtime.readModels;
  const pool = new ReadPool({ path: join(a.dataDir, 'readmodels.db'), size: 1, queueLimit: 8, log: pino({ level: 'silent' }), applied: () => models.applied(), queries: () => models.queries, snapshotMs: 60_000 });
  t.teardown(() => pool.close());
  await until('the worker to be ready', () => pool.ready > 0, 60_000);
  const people = async (): Promise<string[]> => ((await pool.run('people', [new Date(Date.now() + 60_000).toISOString(), 'Heldopen', { after: null, limit: 50 }]))?.value.items ?? []).map((p) => p.name ?? '');
  t.same(await people(), [], 'not there yet (the worker’s snapshot is open now)');
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'held-open', name: 'Heldopen' }, source } });
  t.equal(res.statusCode, 201, res.body);
  t.same(await people(), ['Heldopen'], 'read through a new snapshot at once');
  const answer = await pool.run('people', [new Date(Date.now() + 60_000).toISOString(), undefined, { after: null, limit: 1 }]);
  t.equal(answer?.snapshot.position, models.applied(), 'an answer carries the checkpoint it read');
});

t.test('a full pool answers 503 with Retry-After; a worker that dies is replaced', async (t) => {
  const a = await startTestApp(t, { env: { ...THREADS, ANNALS_READ_QUEUE: '2' } });
  await poolReady(t, a);
  const many = await Promise.all(Array.from({ length: 30 }, () => a.app.inject({ url: '/v1/organizations/csto' })));
  const statuses = many.map((r) => r.statusCode);
  t.ok(statuses.includes(503), 'questions past the limit are refused');
  t.ok(statuses.includes(200), 'the others are answered');
  t.same([...new Set(statuses)].sort(), [200, 503]);
  const refused = many.find((r) => r.statusCode === 503);
  t.equal(refused?.headers['retry-after'], '1');
  t.match(refused?.headers['content-type'], /^application\/problem\+json/);
  t.match(refused?.json(), { status: 503, detail: /read questions are waiting/ });
  t.match((await a.app.inject({ url: '/metrics', headers: a.auth('admin') })).body, /annals_http_shed_total\{reason="read-queue"\} [1-9]/, 'counted as shed');

  const worker = [...runningWorkers()].find(([, label]) => label === 'reads')?.[0];
  t.ok(worker, 'the read worker is labelled');
  const during = Promise.all(Array.from({ length: 2 }, () => a.app.inject({ url: '/v1/organizations/csto' })));
  await worker?.terminate();
  for (const r of await during) t.ok([200, 503].includes(r.statusCode), `a question in flight when the worker died: ${r.statusCode}`);
  const pool = a.runtime.reads as ReadPool;
  await until('another worker to be ready', () => pool.ready > 0, 60_000).catch(() => undefined);
  t.equal(pool.ready, 1, 'another worker took its place');
  const asked = counting(pool);
  t.equal((await a.app.inject({ url: '/v1/organizations/csto' })).statusCode, 200);
  t.equal(asked.count, 1, 'and answers');
  t.equal(pool.pending, 0, 'nothing is left waiting');
});
