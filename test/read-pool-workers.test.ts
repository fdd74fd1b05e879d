/**
 * Reads off the event loop (projections/read-pool.ts), continued from test/read-pool.test.ts
 * (split to keep each file well inside tap's per-file timeout: the two were 285 s in one at a
 * load average of ~20): a worker's snapshot ends once the read models applied something; a full
 * pool is a 503 with Retry-After; a worker that dies is replaced; a worker's nice value; sessions'
 * bytes from a worker.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { counting, examplePool, ownPool, poolReady, source, THREADS } from './fixtures/read-pool.js';
import { until } from './fixtures/when.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { RAW_ROOM_AFTER, RAW_ROOM_BEFORE, type ReadPool, type RawEach } from '../projections/read-pool.js';
import { joinEach } from '../src/http/routes/reads-common.js';
import { niceThisThread, threadId } from '../projections/thread-nice.js';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

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
