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
import { RAW_ROOM_AFTER, RAW_ROOM_BEFORE, ReadPool, SPENT_MAX_BYTES, type RawEach, type ReadPoolOptions } from '../projections/read-pool.js';
import { joinEach } from '../src/http/routes/reads-common.js';
import { niceThisThread, threadId } from '../projections/thread-nice.js';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

const THREADS = { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example', ANNALS_READ_WAIT_MS: '15000' };
const source = { title: 'Test', publisher: 'Annals' };

async function poolReady(t: Test, a: TestApp): Promise<ReadPool> {
  const pool = a.runtime.reads;
  t.ok(pool, 'read models in their thread come with a read pool');
  await until('its worker to be ready', () => !pool || pool.ready > 0, 60_000).catch(() => undefined);
  t.equal(pool?.ready, 1, 'its worker is ready');
  return pool as ReadPool;
}

/** A read pool of one worker on `a`'s read models, beside the app's own (closed at `t`'s end), with `options` over the defaults. */
function ownPool(t: Test, a: TestApp, options: Partial<ReadPoolOptions> = {}): ReadPool {
  const models = a.runtime.readModels;
  const pool = new ReadPool({ path: join(a.dataDir, 'readmodels.db'), size: 1, queueLimit: 8, log: pino({ level: 'silent' }), applied: () => models.applied(), queries: () => models.queries, ...options });
  t.teardown(() => pool.close());
  return pool;
}

/** An app on the example record and a pool of its own (ownPool), its worker ready. */
async function examplePool(t: Test, options: Partial<ReadPoolOptions> = {}): Promise<{ a: TestApp; pool: ReadPool }> {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const pool = ownPool(t, a, options);
  await until('the worker to be ready', () => pool.ready > 0, 60_000);
  return { a, pool };
}

type Answer = Awaited<ReturnType<TestApp['app']['inject']>>;

/**
 * `url` answered by the read worker, then again on the event loop (the pool the routes ask taken
 * off the app for that request): both answers, each checked to come from where it should.
 */
async function pooledAndHere(t: Test, a: TestApp, pool: ReadPool, asked: { count: number }, url: string): Promise<{ pooled: Answer; here: Answer }> {
  const app = a.app as { readPool: ReadPool | null };
  const before = asked.count;
  const pooled = await a.app.inject({ url });
  t.equal(asked.count, before + 1, `${url}: answered by the worker`);
  app.readPool = null;
  const here = await a.app.inject({ url });
  app.readPool = pool;
  t.equal(asked.count, before + 1, `${url}: answered on the event loop the second time`);
  return { pooled, here };
}

/** Counts the questions the pool answered (not those answered on the event loop). */
function counting(pool: ReadPool): { count: number; raw: number } {
  const c = { count: 0, raw: 0 };
  const run = pool.run.bind(pool);
  pool.run = ((method, args, opts) => {
    const p = run(method, args, opts);
    if (p) c.count += 1;
    if (p && opts?.rawItems) c.raw += 1;
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
    // Lists whose items the worker serializes (rawItems), as JSON and as CSV.
    '/v1/offices/csto-secretary-general/holders?format=csv',
    '/v1/documents?organization=csto&format=csv',
    // Sessions: each one's JSON from the worker, its links added on the event loop.
    '/v1/sessions?organization=csto&format=csv',
    '/v1/sessions?organization=csto&limit=1',
    '/v1/organizations/csto/chairs?limit=1',
    '/v1/people?limit=1&q=nobody-by-this-name',
    `/v1/organizations/${org}`,
    '/v1/offices/no-such-office/holder',
    '/v1/sessions?organization=no-such-org',
  ];
  // The routes ask the pool the app plugin decorated the instance with; without it, the event loop answers.
  const body = (text: string): string => text.replace(/"requestId":"[^"]*"/, '');
  for (const url of urls.map((u) => `${u}${u.includes('?') ? '&' : '?'}knownAt=${past}`)) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, here.statusCode, `${url}: ${pooled.statusCode}`);
    t.equal(body(pooled.body), body(here.body), `${url}: the same answer`);
    t.equal(pooled.headers['etag'], here.headers['etag'], `${url}: the same ETag`);
    t.equal(pooled.headers['cache-control'], here.headers['cache-control'], `${url}: the same Cache-Control`);
    t.equal(pooled.headers['link'], here.headers['link'], `${url}: the same Link`);
    t.equal(pooled.headers['content-type'], here.headers['content-type'], `${url}: the same type`);
    t.equal(pooled.headers['content-length'], here.headers['content-length'], `${url}: the same length`);
  }
  t.ok(asked.raw >= 10, `lists asked for their items as bytes (${asked.raw})`);
  // The items came as the worker's bytes, not as a clone (the route sent them as they were).
  const raw = await pool.run('documents', ['csto', past, undefined, { after: null, limit: 50 }], { rawItems: 'page' });
  t.ok(raw?.rawItems && raw.rawItems.byteLength > 2, 'documents: items as JSON bytes');
  t.same(raw?.value?.items, [], 'and none in the clone');
  const plain = await pool.run('documents', ['csto', past, undefined, { after: null, limit: 50 }]);
  t.same(JSON.parse(Buffer.from(raw?.rawItems ?? []).toString('utf8')), plain?.value?.items, 'the bytes are the items');
  const holder = `/v1/offices/csto-secretary-general/holder?validAt=2026-06-01&knownAt=${past}`;
  const first = await a.app.inject({ url: holder });
  t.match(first.headers['cache-control'], /immutable/, 'a past answer read by the worker is immutable (its snapshot is the answer’s)');
  const again = await a.app.inject({ url: holder, headers: { 'if-none-match': String(first.headers['etag']) } });
  t.equal(again.statusCode, 304, 'and its ETag answers 304');
});

t.test('a page’s buffer goes back to the worker once its answer is written, and later pages written in it are the event loop’s bytes', async (t) => {
  const clock = manualClock();
  const a = await startTestApp(t, { env: THREADS, clock: clock.now });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // Pinned (a default knownAt is the time of each request).
  const at = `knownAt=${clock.iso()}`;
  const given: ArrayBuffer[] = [];
  const giveBack = pool.giveBack.bind(pool);
  pool.giveBack = (buffer) => (given.push(buffer), giveBack(buffer));
  // Pages long and short in turn: a buffer given back holds an older, longer page's bytes.
  const pages = ['/v1/people?limit=500', '/v1/people?limit=1', '/v1/organizations?limit=500', '/v1/people?limit=2', '/v1/offices?limit=500', '/v1/people?limit=1'].map((u) => `${u}&${at}`);
  for (const url of [...pages, ...pages]) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, 200, url);
    t.equal(pooled.rawPayload.equals(here.rawPayload), true, `${url}: the same bytes`);
    t.equal(pooled.headers['etag'], here.headers['etag'], `${url}: the same ETag`);
  }
  t.equal(given.length, 2 * pages.length, 'each page’s buffer was given back once its answer was written');
  // 304: nothing written, the buffer given back at once.
  const first = await a.app.inject({ url: `/v1/people?limit=3&${at}` });
  const again = await a.app.inject({ url: `/v1/people?limit=3&${at}`, headers: { 'if-none-match': String(first.headers['etag']) } });
  t.equal(again.statusCode, 304);
  t.equal(given.length, 2 * pages.length + 2, 'and a 304’s too');
  t.ok(given.slice(0, -1).every((b) => b.byteLength === 0), 'each went to the worker with a later question (transferred: detached here)');
  // A buffer bigger than SPENT_MAX_BYTES (a page of hundreds of sessions) is left to the GC, not
  // kept to carry small pages as that much external memory.
  const big = new ArrayBuffer(SPENT_MAX_BYTES + 1);
  const fits = new ArrayBuffer(SPENT_MAX_BYTES);
  pool.giveBack(big);
  pool.giveBack(fits);
  t.equal((await a.app.inject({ url: `/v1/people?limit=4&${at}` })).statusCode, 200);
  t.equal(big.byteLength, SPENT_MAX_BYTES + 1, 'the big one stayed here (not transferred)');
  t.equal(fits.byteLength, 0, 'one of SPENT_MAX_BYTES went to the worker');
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

t.test('items beyond ASCII come from the worker as the event loop writes them (the worker’s buffer, room around it)', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // More bytes than characters: the worker's first guess of the buffer's size is too small.
  let recordedAt = '';
  for (const [key, name] of [['p-wide', `Zoë Łukasiewicz-Ærø 🌍 ${'é'.repeat(400)}`], ['p-ascii', 'Plain Name']]) {
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key, name }, source } });
    t.equal(res.statusCode, 201, res.body);
    recordedAt = (res.json() as { recordedAt: string }).recordedAt;
  }
  // Pinned to the moment of the last write (a default knownAt is the time of each request).
  for (const url of ['/v1/people?limit=500', '/v1/people?q=Zo', '/v1/people?limit=2'].map((u) => `${u}&knownAt=${recordedAt}`)) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, 200, url);
    t.equal(pooled.rawPayload.equals(here.rawPayload), true, `${url}: the same bytes`);
    t.equal(pooled.headers['content-length'], here.headers['content-length'], `${url}: the same length`);
    t.equal(pooled.headers['link'], here.headers['link'], `${url}: the same Link`);
  }
  t.match((await a.app.inject({ url: `/v1/people?q=Zo&knownAt=${recordedAt}` })).json(), { people: [{ key: 'p-wide', name: `Zoë Łukasiewicz-Ærø 🌍 ${'é'.repeat(400)}` }] });
});

t.test('a worker’s snapshot ends once the read models applied something (held open a minute otherwise)', async (t) => {
  const { a, pool } = await examplePool(t, { snapshotMs: 60_000 });
  const models = a.runtime.readModels;
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

t.test('a read worker runs behind the event loop for the CPU: its own thread’s nice value, as the kernel reports it', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const niced = ownPool(t, a, { nice: 7 });
  const plain = ownPool(t, a, { nice: 0 });
  await until('both workers to name their threads', () => niced.threads.length > 0 && plain.threads.length > 0, 60_000);
  const own = getPriority();
  // /proc/PID/task/TID/stat: field 19 is the nice value (fields counted after the command's closing parenthesis).
  const kernelNice = (tid: number): number => Number(readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
  const [w] = niced.threads;
  const [p] = plain.threads;
  if (!existsSync('/proc/thread-self')) {
    t.equal(w?.tid, null, 'no thread ids here: the worker keeps the process priority');
    t.ok(w?.error, 'and says why');
    return;
  }
  t.ok(w?.tid, 'the worker named its thread');
  t.not(w?.tid, process.pid, 'a thread of its own, not the main thread');
  t.equal(w?.nice, Math.min(19, own + 7), 'it says it runs 7 behind the process');
  t.equal(kernelNice(w?.tid as number), Math.min(19, own + 7), 'the kernel agrees');
  t.equal(getPriority(process.pid), own, 'the event loop’s thread keeps its priority');
  t.equal(kernelNice(p?.tid as number), own, 'nice 0: a worker at the process priority');
  t.equal(p?.error, undefined);
  t.equal((await niced.run('people', [new Date().toISOString(), undefined, { after: null, limit: 1 }]))?.value.items.length, 1, 'and it answers');
});

t.test('niceThisThread(0) names the calling thread and changes nothing', async (t) => {
  const here = niceThisThread(0);
  t.equal(here.error, undefined, 'nothing asked, nothing refused');
  if (here.tid === null) return t.pass('no thread ids on this platform');
  t.equal(here.tid, process.pid, 'the main thread’s task id is the process id');
  t.equal(threadId(), process.pid);
  t.equal(here.nice, getPriority());
});

t.test('sessions from a worker: each one’s JSON, its links added after, are the bytes the event loop would write', async (t) => {
  const { pool } = await examplePool(t);
  const k = new Date().toISOString();
  // One item of each nested list, so that sessions have `more` (the links' branch).
  const args = ['csto', k, undefined, { after: null, limit: 50 }, 1] as const;
  const each = (await pool.run('sessions', [...args], { rawItems: 'each' }))?.rawEach;
  const whole = (await pool.run('sessions', [...args]))?.value?.items ?? [];
  t.ok(each, 'each session apart');
  t.ok(whole.some((s) => s.more !== undefined && Object.keys(s.more).length > 0), 'some sessions go on (more)');
  const links = (m: { id: unknown; more: unknown }) => ({ first: `/v1/sessions/${String(m.id)}`, lists: Object.keys(m.more as object) });
  const expected = JSON.stringify(whole.map(({ more, ...rest }) => (more === undefined ? rest : { ...rest, more: links({ id: rest.id, more }) })));
  t.equal(Buffer.from(joinEach(each as RawEach, links)).toString('utf8'), expected, 'the same bytes as the objects give');
  t.equal(Buffer.from(joinEach(each as RawEach, () => undefined)).toString('utf8'), JSON.stringify(whole.map(({ more: _, ...rest }) => rest)), 'and without links, the items without more');
});

t.test('sessions from a worker whose lists all fit: SQLite’s texts as the page itself, the bytes the objects give', async (t) => {
  const { pool } = await examplePool(t);
  const args = ['csto', new Date().toISOString(), undefined, { after: null, limit: 50 }] as const;
  const answer = await pool.run('sessions', [...args], { rawItems: 'each' });
  const whole = (await pool.run('sessions', [...args]))?.value?.items ?? [];
  t.ok(whole.length > 0 && whole.every((s) => s.more === undefined), 'no session goes on');
  t.equal(answer?.rawEach, undefined, 'not each apart');
  const raw = answer?.rawItems as Uint8Array;
  t.equal(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), JSON.stringify(whole), 'the page’s items as one JSON array');
  t.ok(raw.byteOffset >= RAW_ROOM_BEFORE && raw.buffer.byteLength - raw.byteOffset - raw.byteLength >= RAW_ROOM_AFTER, 'with room around them for the answer’s other fields');
});
