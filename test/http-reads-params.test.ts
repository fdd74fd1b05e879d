/**
 * Read query parameters over the real app: lists paged by default (`limit`, `cursor`), 404 for
 * an unknown entity however it is spelled, any RFC 3339 knownAt (normalised and echoed), the
 * forms of minPosition, and unknown query parameters ignored.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { DEFAULT_PAGE, SESSIONS_PAGE } from '../src/http/paging.js';

/** Documents come DEFAULT_PAGE to a page by default. */
const DOCUMENTS_PAGE = DEFAULT_PAGE;

const EXAMPLE = readFileSync(new URL('../src/example/csto-2025-11-27.ndjson', import.meta.url), 'utf8');
const source = { title: 'test source', publisher: 'test' };
const N = 60;

const ndjson = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n');

t.test('reads: paged lists, loose refs, knownAt, minPosition, unknown parameters', async (t) => {
  const { app, auth, runtime } = await startTestApp(t);
  const batch = async (payload: string) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload });
    t.equal(r.statusCode, 200, r.body.slice(0, 300));
    t.notOk(r.json().error, JSON.stringify(r.json().error));
    return r.json() as { recorded: number; results: { position: string }[] };
  };
  await batch(EXAMPLE);
  const docs = Array.from({ length: N }, (_, i) => ({
    type: 'DocumentAdopted',
    data: { key: `test-decision-${i}`, title: `Decision ${i}`, kind: 'decision', body: 'csto-collective-security-council', adoptedOn: `2024-01-${String((i % 28) + 1).padStart(2, '0')}` },
    source,
  }));
  const sessions = Array.from({ length: N }, (_, i) => ({
    type: 'SessionHeld',
    data: { key: `test-session-${i}`, body: 'csto-collective-security-council', held: { from: `2023-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}` } },
    source,
  }));
  const people = Array.from({ length: N }, (_, i) => ({ type: 'PersonRegistered', data: { key: `test-person-${i}`, name: `Testperson ${String(i).padStart(2, '0')}` }, source }));
  const last = await batch(ndjson([...docs, ...sessions, ...people]));
  const get = async (url: string) => {
    const r = await app.inject({ url });
    return { status: r.statusCode, body: r.json() as Record<string, any>, headers: r.headers };
  };

  t.test(`A: every list pages by default (documents ${DOCUMENTS_PAGE}), limit pages otherwise, up to 500`, async (t) => {
    const d = await get('/v1/documents?organization=csto');
    t.equal(d.status, 200);
    t.equal(d.body.documents.length, DOCUMENTS_PAGE, 'a default page, not every document');
    t.type(d.body.nextCursor, 'string');
    let count = d.body.documents.length;
    let next: string | null = d.body.nextCursor;
    let pages = 1;
    while (next) {
      const rest = await get(`/v1/documents?organization=csto&cursor=${next}`);
      t.ok(rest.body.documents.length <= DOCUMENTS_PAGE, 'each later page at most the default');
      count += rest.body.documents.length;
      next = rest.body.nextCursor;
      pages++;
    }
    t.equal(count, N + 3, 'the default pages hold every document');
    t.equal(pages, Math.ceil((N + 3) / DOCUMENTS_PAGE), 'in as many pages as the default size makes');
    const s = await get('/v1/sessions?organization=csto&limit=500');
    t.equal(s.body.sessions.length, N + 1, 'every session in a page of 500');
    t.equal(s.body.nextCursor, null);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Record<string, any> } = await get(`/v1/documents?organization=csto&limit=25${cursor ? `&cursor=${cursor}` : ''}`);
      t.ok(page.body.documents.length <= 25);
      seen.push(...page.body.documents.map((x: any) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    t.equal(seen.length, N + 3);
    t.equal(new Set(seen).size, N + 3, 'pages neither repeat nor skip');
    t.equal((await get('/v1/sessions?organization=csto&limit=10')).body.sessions.length, 10);
    t.equal((await get('/v1/documents?organization=csto&limit=0')).status, 400);
    t.equal((await get('/v1/documents?organization=csto&limit=501')).status, 400);

    const offices = await get('/v1/offices?organization=csto');
    t.equal(offices.body.nextCursor, null, 'a small list comes whole');
    const found = await get('/v1/people?q=testperson');
    t.equal(found.body.people.length, 50, 'a search pages too');
    t.type(found.body.nextCursor, 'string');
    const everyone = await get('/v1/people');
    t.equal(everyone.body.people.length, 50, 'everyone: a default page…');
    t.type(everyone.body.nextCursor, 'string', '…with nextCursor');
    const more = await get(`/v1/people?cursor=${everyone.body.nextCursor}`);
    t.ok(more.body.people.length > 0);
    const timeline = await get('/v1/timeline?organization=csto&from=2000&limit=500');
    t.ok(timeline.body.facts.length > 50, 'a windowed timeline, whole at limit 500');
    t.equal(timeline.body.nextCursor, null);
    const unwindowed = await get('/v1/timeline?organization=csto');
    t.equal(unwindowed.body.facts.length, 50, 'the whole history: a default page');
    t.type(unwindowed.body.nextCursor, 'string');

    const spec = (await app.inject({ url: '/openapi.json' })).json();
    for (const path of ['/v1/timeline', '/v1/people', '/v1/documents', '/v1/sessions', '/v1/offices', '/v1/organizations']) {
      const size = path === '/v1/sessions' ? SESSIONS_PAGE : path === '/v1/documents' ? DOCUMENTS_PAGE : DEFAULT_PAGE;
      t.match(spec.paths[path].get.description, new RegExp(`default ${size}\\b`), `${path}: the page size documented`);
      t.match(spec.paths[path].get.description, /ETag/, `${path}: caching documented`);
    }
  });

  t.test('B: an unknown entity, however spelled, is a 404', async (t) => {
    for (const url of [
      '/v1/offices/Unknown_Office/holder',
      '/v1/offices/CSTO-SECRETARY-GENERAL/holder',
      '/v1/offices/no%20such%20office/holders',
      '/v1/offices/x.y',
      '/v1/organizations/Not_An_Org/chair',
      '/v1/organizations/Not_An_Org',
      '/v1/people/John%20Doe',
      '/v1/sessions/Some_Session',
      '/v1/documents/Some.Document',
      '/v1/documents?organization=Not_An_Org',
      '/v1/sessions?organization=NOT-AN-ORG',
      '/v1/timeline?organization=Not%20an%20org',
      '/v1/offices?organization=Not_An_Org',
      '/v1/organizations?parent=Not_An_Org',
    ]) {
      const r = await get(url);
      t.equal(r.status, 404, url);
      t.match(r.headers['content-type'], /application\/problem\+json/, url);
      t.match(r.body, { type: String, title: String, status: 404, detail: String }, url);
    }
    const long = await get(`/v1/offices/${'x'.repeat(201)}/holder`);
    // Fastify's router refuses a path parameter over maxParamLength (100) with 414 before any route runs.
    t.ok(long.status === 400 || long.status === 414, `over 200 characters: ${long.status}`);
    t.equal((await get(`/v1/offices/${'X_'.repeat(50)}/holder`)).status, 404, '100 characters, unknown');
    t.equal((await get('/v1/documents?organization=' + 'x'.repeat(201))).status, 400, 'a filter over 200 characters');
    t.equal((await get('/v1/documents?organization=')).status, 400, 'empty');
    t.equal((await get('/v1/offices/csto-secretary-general/holder')).status, 200);
  });

  t.test('C: knownAt is any RFC 3339 timestamp, normalised and echoed', async (t) => {
    const at = '2099-01-01T00:00:00.000Z';
    for (const [given, echoed] of [
      ['2099-01-01T00:00:00Z', at],
      ['2099-01-01T00:00:00.000Z', at],
      ['2099-01-01T00:00:00.000+00:00', at],
      ['2099-01-01T03:00:00+03:00', at],
      ['2098-12-31T19:00:00.5-05:00', '2099-01-01T00:00:00.500Z'],
      ['2099-01-01t00:00:00z', at],
      ['2099-01-01T00:00:00.123456789Z', '2099-01-01T00:00:00.123Z'],
    ] as const) {
      const r = await get(`/v1/offices/csto-secretary-general/holder?validAt=2026&knownAt=${encodeURIComponent(given)}`);
      t.equal(r.status, 200, given);
      t.equal(r.body.knownAt, echoed, given);
      t.equal(r.body.holders.length, 1, given);
    }
    const before = await get(`/v1/offices/csto-secretary-general/holder?knownAt=${encodeURIComponent('2000-01-01T00:00:00+00:00')}`);
    t.equal(before.status, 404, 'normalised before comparing: not known in 2000');
    for (const bad of ['yesterday', '2025-11-27', '2025-11-27T00:00Z', '2025-13-01T00:00:00Z', '2025-02-30T00:00:00Z', '2025-11-27T24:00:00Z', '2025-11-27T00:00:00', '2025-11-27T00:00:00+3:00', '']) {
      const r = await get(`/v1/offices/csto-secretary-general/holder?knownAt=${encodeURIComponent(bad)}`);
      t.equal(r.status, 400, bad);
      t.match(r.headers['content-type'], /application\/problem\+json/);
      t.equal(r.body.errors.length, 1, `one message for ${JSON.stringify(bad)}`);
      t.equal(r.body.errors[0].path, 'knownAt');
    }
    const audit = await app.inject({ url: `/v1/audit/events?knownAt=${encodeURIComponent('2000-01-01T03:00:00+03:00')}`, headers: auth('auditor') });
    t.equal(audit.statusCode, 200);
    t.equal(audit.body, '');
  });

  t.test('D: minPosition in short, padded and EventStoreDB forms', async (t) => {
    const pos = (last.results.at(-1) as { position: string }).position;
    t.match(pos, /^\d{20}$/);
    const short = String(Number(pos));
    for (const given of ['1', short, pos]) {
      const r = await get(`/v1/offices/csto-secretary-general/holder?minPosition=${given}`);
      t.equal(r.status, 200, given);
    }
    // Each refusal timed alone: one that waited would take the whole wait (readWaitMs) by itself,
    // while eight quick ones together may pass it on a loaded machine (they were timed together).
    let slowest = 0;
    const timed = async (url: string) => {
      const started = Date.now();
      const r = await get(url);
      slowest = Math.max(slowest, Date.now() - started);
      return r;
    };
    for (const bad of ['abc', '-1', '1.5', '123456789012345678901', '1-2', '', '0x10']) {
      const r = await timed(`/v1/offices/csto-secretary-general/holder?minPosition=${encodeURIComponent(bad)}`);
      t.equal(r.status, 400, bad);
      t.equal(r.body.errors.length, 1);
      t.equal(r.body.errors[0].path, 'minPosition');
    }
    const esdbForm = await timed(`/v1/offices/csto-secretary-general/holder?minPosition=${'0'.repeat(19)}1-${'0'.repeat(19)}1`);
    t.equal(esdbForm.status, 400, 'an EventStoreDB position on the embedded store');
    t.match(esdbForm.body.errors, [{ path: 'minPosition' }]);
    t.ok(slowest < runtime.config.readWaitMs, `refused at once, not after the wait (the slowest in ${slowest} ms)`);
    const ahead = await get(`/v1/offices/csto-secretary-general/holder?minPosition=${String(Number(pos) + 1000)}`);
    t.equal(ahead.status, 503, 'a position not applied yet still waits, then 503');
    t.equal(ahead.body.minPosition, String(Number(pos) + 1000).padStart(20, '0'), 'named in its padded form');
  });

  t.test('E: unknown query parameters are ignored', async (t) => {
    for (const url of [
      '/v1/offices/csto-secretary-general/holder?foo=1',
      '/v1/offices/csto-secretary-general/holders?_=1732665600000',
      '/v1/documents?organization=csto&_=123',
      '/v1/sessions?organization=csto&utm_source=x',
      '/v1/organizations?foo=bar',
      '/v1/people?foo=bar',
      '/v1/timeline?organization=csto&foo=1',
    ]) {
      t.equal((await get(url)).status, 200, url);
    }
    const audit = await app.inject({ url: '/v1/audit/events?_=1', headers: auth('auditor') });
    t.equal(audit.statusCode, 200);
    const body = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { name: 'X' }, source, extra: 1 } });
    t.equal(body.statusCode, 400, 'bodies stay strict');
  });
});
