/**
 * The read pool sends a turn's questions to its worker as one message and hears their answers
 * as one (projections/read-pool.ts `send`, read-worker.ts `answerAll`; issue #12: a message
 * each way a question cost both threads more than the question's own work). Each question
 * still gets its own answer, byte for byte the one it gets asked alone; a question that fails
 * in the worker fails alone; a question asked in a later turn goes in a message of its own;
 * and a batch whose answers take long is answered in several messages, so that a cheap
 * answer does not wait for the heavy ones after it. A point question asked while the worker
 * answers pages is taken off its port between two pages and answered before the pages still
 * waiting (a holder waits for the page in hand, not for the queue); a `release` or `close`
 * behind the pages keeps its turn.
 */
import t, { type Test } from 'tap';
import type { Worker } from 'node:worker_threads';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { until } from './fixtures/when.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { join } from 'node:path';
import { pino } from 'pino';
import { ReadPool, type ReadRequest, type ReadReply } from '../projections/read-pool.js';

const THREADS = { ANNALS_READ_MODELS: 'thread', ANNALS_SEED: 'example', ANNALS_READ_WAIT_MS: '15000' };

/** The messages the pool posts to its worker and hears back. */
function spy(worker: Worker): { sent: ReadRequest[]; heard: ReadReply[] } {
  const seen = { sent: [] as ReadRequest[], heard: [] as ReadReply[] };
  const post = worker.postMessage.bind(worker);
  worker.postMessage = ((m: ReadRequest, transfer?: never) => {
    seen.sent.push(m);
    post(m, transfer);
  }) as Worker['postMessage'];
  worker.on('message', (m: ReadReply) => seen.heard.push(m));
  return seen;
}

/** A pool of one worker of its own on the app's read models, and the messages to and from it. */
async function poolOf(t: Test, a: TestApp, batchHoldMs: number, queueLimit = 64): Promise<{ pool: ReadPool; seen: { sent: ReadRequest[]; heard: ReadReply[] } }> {
  const before = new Set(runningWorkers().keys());
  const models = a.runtime.readModels;
  const pool = new ReadPool({ path: join(a.dataDir, 'readmodels.db'), size: 1, queueLimit, log: pino({ level: 'silent' }), applied: () => models.applied(), queries: () => models.queries, batchHoldMs });
  t.teardown(() => pool.close());
  await until('the read worker to be ready', () => pool.ready > 0, 60_000);
  const worker = [...runningWorkers()].find(([w, label]) => label === 'reads' && !before.has(w))?.[0] as Worker;
  return { pool, seen: spy(worker) };
}

t.test('one turn’s questions go as one message and come back as one; each answers as alone', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const { pool, seen } = await poolOf(t, a, 60_000);
  const knownAt = new Date().toISOString();
  const questions: (() => Promise<unknown>)[] = [
    () => pool.run('holderJson', ['csto-secretary-general', '2026-06-01', knownAt]) as Promise<unknown>,
    () => pool.run('chair', ['csto', '2026-06-01', knownAt]) as Promise<unknown>,
    () => pool.run('holderJson', ['no-such-office', '2026-06-01', knownAt]) as Promise<unknown>,
    // A partial date the read models cannot read: this question alone fails in the worker.
    () => pool.run('holderJson', ['csto-secretary-general', 'not a date', knownAt]) as Promise<unknown>,
    () => pool.run('documents', ['csto', knownAt, undefined, { after: null, limit: 50 }], { rawItems: 'page' }) as Promise<unknown>,
  ];
  const together = await Promise.allSettled(questions.map((q) => q()));
  t.equal(seen.sent.length, 1, 'five questions asked in one turn: one message');
  t.match(seen.sent[0], { kind: 'reads', jobs: [{ method: 'holderJson' }, { method: 'chair' }, { method: 'holderJson' }, { method: 'holderJson' }, { method: 'documents', rawItems: 'page' }] });
  t.equal(seen.heard.length, 1, 'and one message back');
  t.match(seen.heard[0], { kind: 'answers' });
  t.equal((seen.heard[0] as { readonly replies: readonly unknown[] }).replies.length, 5, 'with the five answers');
  t.same(together.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'], 'the failing question fails alone');
  t.match((together[3] as PromiseRejectedResult).reason, { name: 'RangeError', message: /not a partial date/ });
  t.equal((together[2] as PromiseFulfilledResult<{ value: unknown }>).value.value, null, 'an unknown office answers null, as alone');

  // The same questions, each in a turn of its own: a message each, the same answers.
  seen.sent.length = 0;
  seen.heard.length = 0;
  const one: PromiseSettledResult<unknown>[] = [];
  for (const q of questions) one.push(...(await Promise.allSettled([q()])));
  t.same(seen.sent.map((m) => m.kind), ['read', 'read', 'read', 'read', 'read'], 'a question alone in its turn goes as a message of its own');
  t.same(seen.heard.map((m) => m.kind), ['answer', 'answer', 'answer', 'error', 'answer'], 'and is answered by one');
  const plain = (r: PromiseSettledResult<unknown>): unknown => {
    if (r.status === 'rejected') return { rejected: (r.reason as Error).message };
    const v = r.value as { value: unknown; rawItems?: Uint8Array };
    return { value: v.value, raw: v.rawItems ? Buffer.from(v.rawItems).toString('utf8') : undefined };
  };
  t.same(together.map(plain), one.map(plain), 'answers in a batch are the answers alone');
  t.equal(pool.pending, 0, 'nothing is left waiting');
});

t.test('over HTTP: concurrent holder questions, batched, answer as one at a time', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = a.runtime.reads as ReadPool;
  await until('the read worker to be ready', () => pool.ready > 0, 60_000);
  const worker = [...runningWorkers()].find(([, label]) => label === 'reads')?.[0] as Worker;
  const seen = spy(worker);
  const knownAt = new Date().toISOString();
  const urls = ['2020', '2023-05', '2025-11-27', '2026-06-01', '1990'].flatMap((d) => [`/v1/offices/csto-secretary-general/holder?validAt=${d}&knownAt=${knownAt}`, `/v1/organizations/csto/chair?validAt=${d}&knownAt=${knownAt}`, `/v1/offices/nowhere/holder?validAt=${d}&knownAt=${knownAt}`]);
  const at = await Promise.all(urls.map((url) => a.app.inject({ url })));
  t.ok(seen.sent.some((m) => m.kind === 'reads'), `some questions went together (${seen.sent.length} messages for ${urls.length})`);
  const body = (s: string): string => s.replace(/"requestId":"[^"]*"/, '');
  for (const [i, url] of urls.entries()) {
    const alone = await a.app.inject({ url });
    const together = at[i]!;
    t.equal(together.statusCode, alone.statusCode, `${url}: ${alone.statusCode}`);
    t.equal(body(together.body), body(alone.body), `${url}: the same body`);
    t.equal(together.headers['etag'], alone.headers['etag'], `${url}: the same ETag`);
    t.equal(together.headers['cache-control'], alone.headers['cache-control'], `${url}: the same Cache-Control`);
  }
});

t.test('a batch whose answers take long comes back in several messages, each answer once', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  // Held 0 ms: every answer of a batch has waited long enough, so each goes as soon as it is made.
  const { pool, seen } = await poolOf(t, a, 0);
  const knownAt = new Date().toISOString();
  const days = ['2020', '2023-05', '2025-11-27', '2026-06-01'];
  const answers = await Promise.all(days.map((d) => pool.run('holderJson', ['csto-secretary-general', d, knownAt])));
  t.same(seen.sent.map((m) => m.kind), ['reads'], 'asked in one message');
  t.same(seen.heard.map((m) => (m.kind === 'answers' ? m.replies.length : m.kind)), [1, 1, 1, 1], 'answered in four');
  t.same(answers.map((r) => JSON.parse(r?.value as string).validAt), days, 'each question its own answer');
});

t.test('a point question asked while pages are answered is answered before the pages asked before it', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  // Held 0 ms: each answer goes as soon as it is made, so the order they come back in is the order they were made.
  const { pool, seen } = await poolOf(t, a, 0);
  const knownAt = new Date().toISOString();
  const order: string[] = [];
  const PAGES = 60; // within the pool's queue of 64
  const pages = Array.from({ length: PAGES }, (_, i) => (pool.run('documents', ['csto', knownAt, undefined, { after: null, limit: 50 }], { rawItems: 'page' }) as Promise<unknown>).then(() => order.push(`page ${i}`)));
  // The pages go in one message from an immediate; the holder in the next turn, in a message of its own, while the worker answers them.
  await new Promise((resolve) => setImmediate(resolve));
  const holder = (pool.run('holderJson', ['csto-secretary-general', '2026-06-01', knownAt]) as Promise<{ value: unknown }>).then((r) => (order.push('holder'), r));
  const [answer] = await Promise.all([holder, ...pages]);
  t.same(seen.sent.map((m) => m.kind), ['reads', 'read'], 'the pages in one message, the holder in a second');
  t.equal(order.length, PAGES + 1, 'every question answered once');
  const at = order.indexOf('holder');
  t.ok(at < PAGES / 2, `the holder was answered after ${at} of the ${PAGES} pages asked before it (before the worker took it off its port between two pages, it waited for all of them)`);
  t.same(order.filter((o) => o !== 'holder'), pages.map((_, i) => `page ${i}`), 'the pages in the order they were asked');
  t.equal(JSON.parse((answer as { value: string }).value).validAt, '2026-06-01', 'the holder its own answer');
  t.equal(pool.pending, 0, 'nothing is left waiting');
});

t.test('a page asked alone still lets point questions by, and a release behind them keeps its turn', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const { pool, seen } = await poolOf(t, a, 0);
  const knownAt = new Date().toISOString();
  const page = (): Promise<unknown> => pool.run('documents', ['csto', knownAt, undefined, { after: null, limit: 50 }], { rawItems: 'page' }) as Promise<unknown>;
  // One page alone: a `read` message, answered by an `answer` message, as before.
  await page();
  t.same(seen.sent.map((m) => m.kind), ['read'], 'a page alone: one message');
  t.same(seen.heard.map((m) => m.kind), ['answer'], 'answered alone');
  // Pages, then a release (a rebuild swapped the file), then a holder: the worker takes the release
  // off its port between pages, handles it once the pages are answered and only then the holder,
  // which it cannot take past the release.
  seen.sent.length = 0;
  seen.heard.length = 0;
  const order: string[] = [];
  const pages = Array.from({ length: 60 }, (_, i) => page().then(() => order.push(`page ${i}`)));
  await new Promise((resolve) => setImmediate(resolve));
  pool.release();
  const holder = (pool.run('holderJson', ['csto-secretary-general', '2026-06-01', knownAt]) as Promise<{ value: string }>).then((r) => (order.push('holder'), r));
  const [answer] = await Promise.all([holder, ...pages]);
  t.same(seen.sent.map((m) => m.kind), ['reads', 'release', 'read'], 'the pages, the release, the holder: three messages');
  t.same(order, [...pages.map((_, i) => `page ${i}`), 'holder'], 'the holder behind the release waited for it: nothing is taken past a message that is not a question');
  t.equal(JSON.parse(answer.value).validAt, '2026-06-01', 'and was answered on the connection opened again');
  t.equal(pool.pending, 0, 'nothing is left waiting');
});

t.test('point questions asked as fast as the event loop can ask them do not starve the pages asked before them', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const { pool } = await poolOf(t, a, 0, 100_000);
  const knownAt = new Date().toISOString();
  const PAGES = 100;
  let pagesDone = 0;
  const pages = Array.from({ length: PAGES }, () => (pool.run('sessions', ['csto', knownAt, undefined, { after: null, limit: 50 }, 50], { rawItems: 'page' }) as Promise<unknown>).then(() => (pagesDone += 1)));
  // Holders asked every turn, 200 a turn, for as long as pages are waiting (and at most CAP of them,
  // so that a worker that starved its pages would still let the test end). The worker takes them
  // between two pages and answers them first; the pages still get their turns, because the
  // event loop cannot ask point questions faster than the worker answers them (asking and
  // hearing an answer costs it about what answering costs the worker). So this test cannot fail
  // with today's worker; it fails for one that holds its pages while any question is pending.
  const CAP = 60_000;
  let asked = 0;
  const holders: Promise<unknown>[] = [];
  await new Promise((resolve) => setImmediate(resolve));
  while (pagesDone < PAGES && asked < CAP) {
    for (let i = 0; i < 200 && pool.pending < 2_000; i++, asked++) holders.push(pool.run('holderJson', ['csto-secretary-general', '2026-06-01', knownAt]) as Promise<unknown>);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const askedWhilePages = asked;
  await Promise.all([...pages, ...holders]);
  t.equal(pagesDone, PAGES, 'every page answered');
  t.ok(askedWhilePages < CAP, `the pages were answered while holders kept coming (${askedWhilePages} holders asked meanwhile)`);
  t.equal(pool.pending, 0, 'nothing is left waiting');
});

t.test('a close that comes while pages are answered waits for them: every page asked before it is answered', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const { pool, seen } = await poolOf(t, a, 0);
  const knownAt = new Date().toISOString();
  const pages = Array.from({ length: 60 }, () => pool.run('documents', ['csto', knownAt, undefined, { after: null, limit: 50 }], { rawItems: 'page' }) as Promise<unknown>);
  await new Promise((resolve) => setImmediate(resolve));
  await pool.close();
  t.same(seen.sent.map((m) => m.kind), ['reads', 'close'], 'the pages, then the close');
  const settled = await Promise.allSettled(pages);
  t.same(settled.map((s) => s.status), pages.map(() => 'fulfilled'), 'every page answered before the worker stopped');
});
