/**
 * A documents page made whole by the read worker (projections/read-pool.ts WholeAsk,
 * read-worker.ts `wholeOf`, routes/reads-answer.ts sendWhole): its body, cursor, Link and strong
 * ETag come from the worker, and the answer on the wire is the one the event loop makes without
 * a worker, byte for byte and header for header: pinned and current, every page of a list
 * followed by its cursors, compressed (gzip, br), to another origin (CORS), 304 on its ETag;
 * CSV is not asked whole. Also the cursor signer both threads share (src/cursor-sign.ts).
 */
import t from 'tap';
import { createHmac } from 'node:crypto';
import { manualClock } from './fixtures/clock.js';
import { poolReady, source, THREADS, type Answer } from './fixtures/read-pool.js';
import { startTestApp } from './fixtures/app.js';
import { CURSOR_KEY, CursorSigner, scopeDigest } from '../src/cursor-sign.js';
import { decodeCursor, encodeCursor } from '../src/http/paging.js';
import type { ReadPool } from '../projections/read-pool.js';

/** Every header but those of the moment (date) and of the request (its id). */
const headersOf = (r: Answer): Record<string, unknown> => Object.fromEntries(Object.entries(r.headers).filter(([k]) => k !== 'date' && k !== 'x-request-id'));

t.test('a documents page made whole by the worker is the event loop’s answer, on every path', async (t) => {
  const clock = manualClock();
  const a = await startTestApp(t, { env: { ...THREADS, ANNALS_CORS_ORIGINS: '*' }, clock: clock.now });
  const pool = await poolReady(t, a);
  const asked = { whole: 0, other: 0 };
  const run = pool.run.bind(pool);
  pool.run = ((method, args, opts) => {
    const p = run(method, args, opts);
    if (p) asked[opts?.whole ? 'whole' : 'other'] += 1;
    return p;
  }) as ReadPool['run'];
  const given: ArrayBuffer[] = [];
  const giveBack = pool.giveBack.bind(pool);
  pool.giveBack = (buffer) => (given.push(buffer), giveBack(buffer));
  const past = clock.iso();
  clock.advance();
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'later', name: 'Later' }, source } })).statusCode, 201);
  const app = a.app as { readPool: ReadPool | null };
  /** `url` with `headers` asked of the worker, then on the event loop (the pool taken off the app for that request). */
  const both = async (url: string, headers: Record<string, string> = {}): Promise<{ pooled: Answer; here: Answer }> => {
    const pooled = await a.app.inject({ url, headers });
    app.readPool = null;
    try {
      return { pooled, here: await a.app.inject({ url, headers }) };
    } finally {
      app.readPool = pool;
    }
  };
  const same = (url: string, headers: Record<string, string>, x: { pooled: Answer; here: Answer }): void => {
    t.equal(x.pooled.statusCode, x.here.statusCode, `${url} ${JSON.stringify(headers)}: ${x.pooled.statusCode}`);
    t.ok(x.pooled.rawPayload.equals(x.here.rawPayload), `${url} ${JSON.stringify(headers)}: the same bytes`);
    t.same(headersOf(x.pooled), headersOf(x.here), `${url} ${JSON.stringify(headers)}: the same headers`);
  };
  const origin = { origin: 'https://elsewhere.example' };
  let pages = 0;
  for (const first of [`/v1/documents?organization=csto&knownAt=${past}&limit=1`, `/v1/documents?organization=csto&validAt=2027&knownAt=${past}`, `/v1/documents?organization=csto&validAt=2026-06&limit=2&knownAt=${encodeURIComponent(past)}`]) {
    // Every page, its cursor followed.
    for (let url: string | null = first; url !== null; pages++) {
      const plain = await both(url);
      same(url, {}, plain);
      t.equal(plain.pooled.statusCode, 200);
      t.match(plain.pooled.headers['cache-control'], /immutable/, `${url}: immutable`);
      t.equal(plain.pooled.headers['vary'], 'accept', 'Vary: accept, as every list that may answer CSV');
      for (const headers of [{ 'accept-encoding': 'gzip', ...origin }, { 'accept-encoding': 'br' }, origin]) same(url, headers, await both(url, headers));
      const etag = String(plain.pooled.headers['etag']);
      t.notOk(etag.startsWith('W/'), 'a strong ETag');
      const again = await both(url, { 'if-none-match': etag, ...origin });
      same(url, { 'if-none-match': etag }, again);
      t.equal(again.pooled.statusCode, 304, 'its ETag answers 304');
      const body = plain.pooled.json() as { nextCursor: string | null };
      const link = plain.pooled.headers['link'];
      t.equal(link === undefined, body.nextCursor === null, 'a Link exactly when there is a next page');
      url = body.nextCursor === null ? null : (/<([^>]+)>/.exec(String(link))?.[1] ?? null);
    }
  }
  t.ok(pages >= 5, `pages followed (${pages})`);
  t.equal(asked.whole, pages * 5, `each JSON page asked whole of the worker, five ways (${asked.whole})`);
  t.ok(given.length >= asked.whole, `each whole page’s buffer given back, a 304’s too (${given.length})`);

  // Sessions: a page whose items SQLite wrote comes whole too; one with a `more` (its links the route's) each apart, as before.
  const wholeBefore = asked.whole;
  const answers: string[] = [];
  const runWhole = pool.run.bind(pool);
  pool.run = ((method, args, opts) => {
    const p = runWhole(method, args, opts);
    if (p && opts?.whole) void p.then((x) => answers.push(x.whole ? 'whole' : x.rawEach ? 'each' : 'other'));
    return p;
  }) as ReadPool['run'];
  for (const first of [`/v1/sessions?organization=csto&knownAt=${past}&limit=1`, `/v1/sessions?organization=csto&validAt=2025&knownAt=${past}`]) {
    for (let url: string | null = first; url !== null; ) {
      const plain = await both(url);
      same(url, {}, plain);
      for (const headers of [{ 'accept-encoding': 'gzip', ...origin }, { 'if-none-match': String(plain.pooled.headers['etag']) }] as Record<string, string>[]) same(url, headers, await both(url, headers));
      url = (plain.pooled.json() as { nextCursor: string | null }).nextCursor === null ? null : (/<([^>]+)>/.exec(String(plain.pooled.headers['link']))?.[1] ?? null);
    }
  }
  const csv = `/v1/sessions?organization=csto&knownAt=${past}&format=csv`;
  const sessionsWhole = asked.whole - wholeBefore;
  same(csv, {}, await both(csv));
  t.equal(asked.whole - wholeBefore, sessionsWhole, 'sessions as CSV not asked whole');
  t.ok(answers.includes('whole'), `sessions pages whole (${answers.filter((a) => a === 'whole').length} of ${answers.length})`);
  pool.run = runWhole;

  // A current answer (no knownAt): its weak ETag made on the event loop from the worker's snapshot.
  const now = await both('/v1/documents?organization=csto&limit=1');
  t.equal(now.pooled.statusCode, 200);
  t.match(now.pooled.headers['etag'], /^W\//, 'a weak ETag');
  t.equal(now.pooled.headers['etag'], now.here.headers['etag'], 'the event loop’s');
  t.equal(now.pooled.headers['cache-control'], 'public, no-cache');
  const strip = (r: Answer): unknown => ({ ...(r.json() as object), knownAt: null, nextCursor: null });
  t.same(strip(now.pooled), strip(now.here), 'the same page (but the moment asked)');
  t.equal((await a.app.inject({ url: '/v1/documents?organization=csto&limit=1', headers: { 'if-none-match': String(now.pooled.headers['etag']) } })).statusCode, 304, 'and 304 on it');

  // CSV is the event loop's (the rows made from the items): not asked whole.
  const before = asked.whole;
  for (const [url, headers] of [
    [`/v1/documents?organization=csto&knownAt=${past}&format=csv`, {}],
    [`/v1/documents?organization=csto&knownAt=${past}`, { accept: 'text/csv' }],
  ] as const) {
    const csv = await both(url, headers);
    same(url, headers, csv);
    t.match(csv.pooled.headers['content-type'], /^text\/csv/);
  }
  t.equal(asked.whole, before, 'CSV not asked whole');
  t.ok(asked.other >= 2, 'but of the worker');

  // An unknown organization: a 404, as ever.
  const none = await both(`/v1/documents?organization=no-such-org&knownAt=${past}`);
  t.equal(none.pooled.statusCode, 404);
  t.same({ ...(none.pooled.json() as object), requestId: null }, { ...(none.here.json() as object), requestId: null });

  // Straight from the pool: the value is empty, the body the answer.
  const scope = { route: '/v1/documents', params: {}, filters: { organization: 'csto' } };
  // A session with a `more` (one item of each nested list) asked whole comes each apart: its links are the route's.
  const nested = await pool.run('sessions', ['csto', past, undefined, { after: null, limit: 50 }, 1], { rawItems: 'each', whole: { field: 'sessions', validAt: null, knownAt: past, scope: { route: '/v1/sessions', params: {}, filters: {} }, url: '/v1/sessions', strong: true } });
  t.equal(nested?.whole, undefined, 'a page with a more: not whole');
  t.ok(nested?.rawEach, 'but each apart');
  const answer = await pool.run('documents', ['csto', past, undefined, { after: null, limit: 1 }], { whole: { field: 'documents', validAt: null, knownAt: past, scope, url: '/v1/documents?organization=csto&limit=1', strong: false } });
  const whole = answer?.whole;
  t.ok(whole, 'whole');
  t.equal(answer?.value, null, 'nothing else cloned');
  t.equal(whole?.etag, null, 'not pinned: no strong ETag (the event loop makes the weak one)');
  const text = JSON.parse(Buffer.from(whole?.bytes ?? []).toString('utf8')) as { nextCursor: string; documents: unknown[] };
  t.equal(text.documents.length, 1);
  t.same(decodeCursor(text.nextCursor, scope, past).knownAt, past, 'its cursor is one the event loop accepts');
  t.equal(whole?.link, `</v1/documents?organization=csto&limit=1&cursor=${text.nextCursor}>; rel="next"`);
});

t.test('the cursor signer both threads use: HMAC-SHA-256 under the key, cut to 16 bytes; the key never shown', async (t) => {
  const signer = new CursorSigner(CURSOR_KEY);
  for (const payload of ['', 'abc', 'eyJ2IjoxfQ', 'é-not-ascii'])
    t.same(signer.mac(payload), createHmac('sha256', CURSOR_KEY).update(payload).digest().subarray(0, 16), `mac(${JSON.stringify(payload)})`);
  const other = new CursorSigner('another key');
  t.same(other.mac('abc'), createHmac('sha256', 'another key').update('abc').digest().subarray(0, 16), 'under any key');
  const scope = { route: '/v1/documents', params: {}, filters: { organization: 'csto', limit: 3, cursor: undefined } };
  const k = '2026-01-01T00:00:00.000Z';
  t.equal(signer.encode(scope, k, ['a', 'b']), encodeCursor(scope, k, ['a', 'b']), 'the event loop’s cursor');
  t.not(other.encode(scope, k, ['a']), signer.encode(scope, k, ['a']), 'another key, another cursor');
  t.equal(scopeDigest(scope), scopeDigest({ ...scope, filters: { organization: 'csto' } }), 'limit and cursor do not bind');
  t.notMatch(JSON.stringify({ signer }), /cursor v1|another key/, 'the key is not in its JSON');
  t.throws(() => new CursorSigner('x'.repeat(65)), /at most 64/);
  t.throws(() => new CursorSigner('ключ'), /ASCII/);
});
