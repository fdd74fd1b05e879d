/**
 * Paging and caching on the wire, over the real app: every list pages by default (nextCursor
 * and Link rel="next", a small list whole in one page), following every cursor gives each
 * item exactly once, a cursor pins the knownAt of its first page (records made between pages
 * do not show), and an altered or foreign cursor is a 400 naming `cursor`. Past answers carry
 * a strong ETag and an immutable Cache-Control, and a repeated past read answers 304; current
 * answers a weak ETag from the log position, 304 until something is recorded. Large answers
 * are compressed; CORS headers only where ANNALS_CORS_ORIGINS allows.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { createHmac } from 'node:crypto';
import { DEFAULT_PAGE, SESSIONS_PAGE, decodeCursor, encodeCursor, withCursor } from '../src/http/paging.js';
import { prng } from './fixtures/history.js';

const EXAMPLE = readFileSync(new URL('../src/example/csto-2025-11-27.ndjson', import.meta.url), 'utf8');
const source = { title: 'test source', publisher: 'test' };
const N = 60;
const ndjson = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n');

t.test('lists page by default; cursors are bound to their query; past answers are immutable', async (t) => {
  const { app, auth } = await startTestApp(t);
  const batch = async (payload: string) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload });
    t.equal(r.statusCode, 200, r.body.slice(0, 300));
    return r.json() as { results: { position: string; recordedAt: string; id?: string }[] };
  };
  await batch(EXAMPLE);
  const recorded = await batch(
    ndjson([
      ...Array.from({ length: N }, (_, i) => ({ type: 'DocumentAdopted', data: { key: `decision-${i}`, title: `Decision ${i}`, kind: 'decision', body: 'csto-collective-security-council', adoptedOn: `2024-01-${String((i % 28) + 1).padStart(2, '0')}` }, source })),
      ...Array.from({ length: N }, (_, i) => ({ type: 'SessionHeld', data: { key: `session-${i}`, body: 'csto-collective-security-council', held: { from: `2023-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}` } }, source })),
      ...Array.from({ length: N }, (_, i) => ({ type: 'PersonRegistered', data: { key: `person-${i}`, name: `Testperson ${String(i).padStart(2, '0')}` }, source })),
      ...Array.from({ length: N }, (_, i) => ({ type: 'DelegateAttended', data: { session: 'session-0', person: `person-${i}`, representing: 'ru' }, source })),
    ]),
  );
  t.equal(recorded.results.length, 4 * N);
  const marker = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'marker', name: 'Marker' }, source } });
  const afterAll = (marker.json() as { recordedAt: string }).recordedAt;
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const r = await app.inject({ url, headers });
    return { status: r.statusCode, body: (r.body ? r.json() : null) as Record<string, any>, headers: r.headers, raw: r };
  };

  /** The page size a list route applies without `limit`: sessions (each with four lists of its own) come fewer to a page. */
  const defaultOf = (url: string): number => (url.startsWith('/v1/sessions?') ? SESSIONS_PAGE : DEFAULT_PAGE);
  /** Every page of `url` (at `limit`), checking nextCursor, Link and the page size. */
  const follow = async (url: string, list: string, limit?: number): Promise<any[]> => {
    const out: any[] = [];
    let next: string | null = limit === undefined ? url : `${url}${url.includes('?') ? '&' : '?'}limit=${limit}`;
    let knownAt: string | null = null;
    while (next) {
      const page = await get(next);
      t.equal(page.status, 200, next);
      t.ok((page.body[list] as unknown[]).length <= (limit ?? defaultOf(next)), 'at most limit items');
      knownAt ??= page.body.knownAt as string;
      t.equal(page.body.knownAt, knownAt, 'every page at the knownAt of the first');
      out.push(...page.body[list]);
      const cursor = page.body.nextCursor as string | null;
      if (cursor) t.match(page.headers['link'], /^<\/v1\/.*cursor=.*>; rel="next"$/, 'Link rel="next"');
      else t.notOk(page.headers['link'], 'no Link on the last page');
      next = cursor ? (String(page.headers['link']).match(/^<(.*)>/)?.[1] as string) : null;
    }
    return out;
  };

  t.test('each list: its default page (50; sessions 10), every item exactly once, the same at any page size', async (t) => {
    const cases: [string, string, (x: any) => string][] = [
      ['/v1/documents?organization=csto', 'documents', (d) => d.id],
      ['/v1/sessions?organization=csto', 'sessions', (s) => s.id],
      ['/v1/people', 'people', (p) => p.id],
      ['/v1/organizations', 'organizations', (o) => o.id],
      ['/v1/offices', 'offices', (o) => o.id],
      ['/v1/timeline?organization=csto', 'facts', (f) => f.factId],
      ['/v1/offices/csto-secretary-general/holders', 'holders', (h) => h.factId],
      ['/v1/sessions/session-0/attendees', 'items', (a) => a.factId],
    ];
    for (const [url, list, id] of cases) {
      const first = await get(url);
      const total = (await follow(url, list, 500)).map(id);
      const byDefault = defaultOf(url);
      if (total.length > byDefault) {
        t.equal(first.body[list].length, byDefault, `${url}: a default page of ${byDefault}`);
        t.type(first.body.nextCursor, 'string');
      } else {
        t.equal(first.body[list].length, total.length, `${url}: a small list, whole in one page`);
        t.equal(first.body.nextCursor, null);
      }
      for (const limit of [undefined, 7, 1]) {
        const ids = (await follow(url, list, limit)).map(id);
        t.same(ids, total, `${url} at limit ${limit ?? 'default'}: the same items in the same order`);
        t.equal(new Set(ids).size, ids.length, 'none twice');
      }
    }
    t.ok((await follow('/v1/documents?organization=csto', 'documents')).length >= N, 'the documents recorded');
  });

  t.test('a session names the rest of its attendees with a link that pages on', async (t) => {
    const s = await get('/v1/sessions/session-0');
    t.equal(s.body.session.attendees.length, 50, 'the first page of attendees');
    t.match(s.body.session.more, { attendees: /^\/v1\/sessions\/[0-9A-Z]{26}\/attendees\?cursor=/ });
    const rest = await follow(s.body.session.more.attendees, 'items');
    t.equal(rest.length, N - 50, 'the rest, once');
    t.same(new Set([...s.body.session.attendees, ...rest].map((a: any) => a.person.key)).size, N);
  });

  t.test('a cursor pins the knownAt of its first page; records made after it do not show', async (t) => {
    const first = await get('/v1/people?limit=10');
    const pinned = first.body.knownAt as string;
    await batch(ndjson([{ type: 'PersonRegistered', data: { key: 'aaa-late', name: 'Aaa Late' }, source }]));
    const second = await get(`/v1/people?limit=10&cursor=${first.body.nextCursor}`);
    t.equal(second.body.knownAt, pinned, 'the second page answers at the first page’s knownAt');
    const all = await follow(`/v1/people?cursor=${first.body.nextCursor}`, 'people', 500);
    t.notOk(all.some((p: any) => p.key === 'aaa-late'), 'a person recorded between pages is not in them');
    t.ok((await get('/v1/people?q=aaa')).body.people.some((p: any) => p.key === 'aaa-late'), 'a new first page has them');
    t.equal((await get(`/v1/people?cursor=${first.body.nextCursor}&knownAt=${encodeURIComponent(pinned)}`)).status, 200, 'the same knownAt again is fine');
  });

  t.test('an altered, foreign or mismatched cursor is a 400 naming cursor', async (t) => {
    const first = await get('/v1/documents?organization=csto&limit=5');
    const cursor = first.body.nextCursor as string;
    const [payload, sig] = cursor.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), a: ['', ''] })).toString('base64url');
    for (const [url, why] of [
      ['/v1/documents?organization=csto&cursor=garbage!!', 'garbage'],
      [`/v1/documents?organization=csto&cursor=${forged}.${sig}`, 'an altered key'],
      [`/v1/documents?organization=csto&cursor=${payload}`, 'without its signature'],
      [`/v1/documents?organization=csto&cursor=${cursor}x`, 'a signature altered'],
      [`/v1/documents?organization=csto&validAt=2025&cursor=${cursor}`, 'other filters'],
      [`/v1/sessions?organization=csto&cursor=${cursor}`, 'another list'],
      [`/v1/documents?organization=csto&cursor=${cursor}&knownAt=2020-01-01T00:00:00Z`, 'another knownAt'],
    ] as const) {
      const r = await get(url);
      t.equal(r.status, 400, why);
      t.match(r.headers['content-type'], /application\/problem\+json/);
      t.same(r.body.errors.map((e: any) => e.path), ['cursor'], `${why}: names cursor`);
    }
    t.equal((await get(`/v1/documents?organization=csto&limit=9&cursor=${cursor}`)).status, 200, 'another page size is fine');
  });

  t.test('a past answer is immutable: strong ETag, immutable Cache-Control, 304 when repeated', async (t) => {
    const url = `/v1/offices/csto-secretary-general/holder?validAt=2026-06-01&knownAt=${encodeURIComponent(afterAll)}`;
    // Record something more, so that afterAll is before the last applied event's recordedAt.
    await batch(ndjson([{ type: 'PersonRegistered', data: { key: 'someone-later', name: 'Someone Later' }, source }]));
    const past = await get(url);
    t.equal(past.status, 200);
    t.match(past.headers['etag'], /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
    t.equal(past.headers['cache-control'], 'public, max-age=31536000, immutable');
    const again = await get(url, { 'if-none-match': String(past.headers['etag']) });
    t.equal(again.status, 304, 'repeated with If-None-Match: 304');
    t.equal(again.raw.body, '', 'no body');
    t.equal(again.headers['etag'], past.headers['etag']);
    t.equal((await get(url, { 'if-none-match': '"something-else"' })).status, 200, 'another ETag: the answer');
    const list = await get(`/v1/documents?organization=csto&knownAt=${encodeURIComponent(afterAll)}`);
    t.match(list.headers['cache-control'], /immutable/, 'a past list page too');
    const page2 = await get(`/v1/documents?organization=csto&cursor=${list.body.nextCursor}`);
    t.match(page2.headers['cache-control'], /immutable/, 'and its next page (knownAt pinned by the cursor)');
    const defaulted = await get(`/v1/offices/csto-secretary-general/holder?knownAt=${encodeURIComponent(afterAll)}`);
    t.match(defaulted.headers['cache-control'], /no-cache/, 'validAt defaulted to today: not immutable (today moves)');
    t.match(defaulted.headers['etag'], /^W\//);
  });

  t.test('a current answer: weak ETag from the log position, 304 until something is recorded', async (t) => {
    const url = '/v1/organizations/csto/chair?validAt=2026';
    const now = await get(url);
    t.match(now.headers['etag'], /^W\/"\d+\.[A-Za-z0-9_-]+"$/, 'weak, with the position');
    t.equal(now.headers['cache-control'], 'public, no-cache');
    t.equal((await get(url, { 'if-none-match': String(now.headers['etag']) })).status, 304, 'nothing recorded since: 304');
    await batch(ndjson([{ type: 'PersonRegistered', data: { key: 'another-one', name: 'Another One' }, source }]));
    const after = await get(url, { 'if-none-match': String(now.headers['etag']) });
    t.equal(after.status, 200, 'something recorded since: the answer again');
    t.not(after.headers['etag'], now.headers['etag']);
    const future = await get(`${url}&knownAt=2999-01-01T00:00:00Z`);
    t.match(future.headers['etag'], /^W\//, 'a knownAt after the last event applied is a current answer');
  });

  t.test('large answers are compressed, small ones are not', async (t) => {
    const big = await app.inject({ url: '/v1/timeline?organization=csto&limit=200', headers: { 'accept-encoding': 'gzip' } });
    t.equal(big.headers['content-encoding'], 'gzip');
    t.ok(JSON.parse(gunzipSync(big.rawPayload).toString()).facts.length > 50, 'a gzip of the answer');
    const small = await app.inject({ url: '/v1/offices/csto-secretary-general/holder?validAt=2026', headers: { 'accept-encoding': 'gzip' } });
    t.notOk(small.headers['content-encoding'], 'under 1 KiB: as is');
    t.notOk((await get('/v1/organizations', {})).headers['access-control-allow-origin'], 'no CORS unless configured');
  });
});

t.test('CORS for the origins ANNALS_CORS_ORIGINS names', async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_CORS_ORIGINS: 'https://explorer.example.org' } });
  const ok = await app.inject({ url: '/v1/organizations', headers: { origin: 'https://explorer.example.org' } });
  t.equal(ok.headers['access-control-allow-origin'], 'https://explorer.example.org');
  t.match(String(ok.headers['access-control-expose-headers']), /ETag/i);
  t.match(String(ok.headers['access-control-expose-headers']), /Link/i);
  const other = await app.inject({ url: '/v1/organizations', headers: { origin: 'https://elsewhere.example.org' } });
  t.notOk(other.headers['access-control-allow-origin'], 'another origin: no allow header');
  const preflight = await app.inject({ method: 'OPTIONS', url: '/v1/facts', headers: { origin: 'https://explorer.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
  t.equal(preflight.statusCode, 204, 'a preflight for a write');
  t.match(String(preflight.headers['access-control-allow-headers']), /Authorization/i);
});

t.test('a cursor\'s signature and the Link\'s URL, made the short way, are what createHmac and URLSearchParams make', async (t) => {
  const scope = { route: '/v1/documents', params: {}, filters: { organization: 'org', validAt: '2001' } };
  // The signature: HMAC-SHA-256 under the key, cut to 16 bytes, base64url (decodeCursor checks it the same way).
  for (const knownAt of ['2026-12-06T12:09:46.826Z', 'é😀 not ASCII']) {
    const cursor = encodeCursor(scope, knownAt, ['1990-01-01', '01M95M45CKHTB8RGQEQXZC5FMP']);
    const [payload, sig] = cursor.split('.') as [string, string];
    t.equal(sig, createHmac('sha256', 'annals cursor v1').update(payload).digest().subarray(0, 16).toString('base64url'));
    t.same(decodeCursor(cursor, scope, undefined), { knownAt, after: ['1990-01-01', '01M95M45CKHTB8RGQEQXZC5FMP'] });
  }
  // A payload a client made up, beyond ASCII, is refused as altered (its bytes hashed as UTF-8, as createHmac would).
  const foreign = `${Buffer.from('é').toString('latin1')}.${createHmac('sha256', 'annals cursor v1').update('x').digest().subarray(0, 16).toString('base64url')}`;
  t.throws(() => decodeCursor(foreign, scope, undefined), /altered/);
  const nonAscii = 'é😀';
  t.throws(() => decodeCursor(`${nonAscii}.${createHmac('sha256', 'annals cursor v1').update(nonAscii).digest().subarray(0, 16).toString('base64url')}x`, scope, undefined), /altered/);
  t.throws(() => decodeCursor(`${nonAscii}.${createHmac('sha256', 'annals cursor v1').update(nonAscii).digest().subarray(0, 16).toString('base64url')}`, scope, undefined), /not a cursor this service issued/, 'signed right: then read');
  // withCursor against URLSearchParams over query strings made of the pieces that matter.
  const slow = (url: string, cursor: string): string => {
    const [path, search = ''] = url.split('?', 2) as [string, string?];
    const params = new URLSearchParams(search);
    params.set('cursor', cursor);
    return `${path}?${params.toString()}`;
  };
  const atoms = ['a', 'Z', '9', '*', '-', '.', '_', '+', '%20', '%2A', '%2B', '%2C', '%2D', '%2F', '%3A', '%3a', '%41', '%5F', '%7E', '%25', '%', '%zz', '%C3%A9', 'é', '~', '!', '=', '&', '?', '#', ' ', '%00', '%7F', '%80', 'cursor', 'curso%72', '%3D'];
  const rnd = prng(14);
  let differ = 0;
  let n = 0;
  for (let i = 0; i < 20000; i++) {
    let q = '';
    for (let j = Math.floor(rnd() * 8); j > 0; j--) q += atoms[Math.floor(rnd() * atoms.length)];
    const url = `/v1/documents${rnd() < 0.9 ? '?' : ''}${q}`;
    const cursor = rnd() < 0.8 ? 'eyJ2Ijox.ab_-' : 'a b';
    n++;
    if (withCursor(url, cursor) !== slow(url, cursor)) differ++;
  }
  for (let b = 0; b < 256; b++) {
    const h = b.toString(16).toUpperCase().padStart(2, '0');
    for (const url of [`/x?a=%${h}`, `/x?%${h}=1`, `/x?a=${String.fromCharCode(b)}`, `/x?a=%${h.toLowerCase()}`]) {
      n++;
      if (withCursor(url, 'c.d') !== slow(url, 'c.d')) differ++;
    }
  }
  t.equal(differ, 0, `${n} URLs, each as URLSearchParams writes it`);
  t.equal(withCursor('/v1/documents?organization=org&validAt=2023-04-14&knownAt=2026-12-06T12%3A09%3A46.826Z', 'abc.d'), '/v1/documents?organization=org&validAt=2023-04-14&knownAt=2026-12-06T12%3A09%3A46.826Z&cursor=abc.d');
  t.equal(withCursor('/v1/documents?cursor=old&limit=2', 'new'), '/v1/documents?cursor=new&limit=2', 'a cursor given is replaced where it was');
});
