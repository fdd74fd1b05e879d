/**
 * GET /v1/changes on the worked example's correction (src/example/WORKED-EXAMPLE.md: the CSTO
 * chairmanship of the Kyrgyz Republic recorded for 2024, corrected to 2025), on a real SQLite
 * store with a clock the test moves: between before and after the correction the window holds
 * exactly that correction, with the data before and after and its reason. Also: paging over
 * many changes (each once), an empty window, organization=, bad and reversed moments, caching,
 * a retraction in the window, and a filtered window larger than a page's scan bound.
 */
import t, { type Test } from 'tap';
import { SCAN_BOUND } from '../src/audit/changes.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { manualClock, type ManualClock } from './fixtures/clock.js';
import { FIX, REASON, recordWorkedCorrection, source, term, WRONG } from './fixtures/worked-correction.js';

interface Change {
  kind: string;
  factId: string;
  type: string;
  position: string;
  recordedAt: string;
  data: Record<string, unknown> | null;
  source: { title: string } | null;
  fact?: { factId: string; type: string };
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  reason?: string | null;
}
interface Answer {
  since: string;
  until: string;
  changes: Change[];
  nextCursor: string | null;
}

interface World {
  a: TestApp;
  clock: ManualClock;
  seeded: string;
  before: string;
  after: string;
}

/** The example seeded, the mistaken chairmanship, a moment, its correction, a moment. */
async function worked(t: Test): Promise<World> {
  const clock = manualClock();
  const a = await startTestApp(t, { clock: clock.now });
  const moments = await recordWorkedCorrection(t, a, clock);
  clock.advance();
  return { a, clock, ...moments };
}

const get = async (a: TestApp, url: string) => a.app.inject({ url });

/** Every item of a window, following nextCursor (and checking the Link header says the same). */
async function follow(t: Test, a: TestApp, url: string): Promise<{ items: Change[]; pages: number }> {
  const items: Change[] = [];
  let next: string | null = url;
  let pages = 0;
  while (next !== null) {
    const res = await get(a, next);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json() as Answer;
    items.push(...body.changes);
    pages += 1;
    if (body.nextCursor) {
      t.match(res.headers.link, /rel="next"/);
      next = `${url}&cursor=${encodeURIComponent(body.nextCursor)}`;
    } else {
      t.notOk(res.headers.link, 'no Link on the last page');
      next = null;
    }
  }
  return { items, pages };
}

t.test('between before and after the correction: exactly that correction, with before, after and reason', async (t) => {
  const { a, seeded, before, after } = await worked(t);
  const res = await get(a, `/v1/changes?since=${before}&until=${after}`);
  t.equal(res.statusCode, 200, res.body);
  const body = res.json() as Answer;
  t.equal(body.since, before);
  t.equal(body.until, after);
  t.equal(body.changes.length, 1, 'one change');
  const [c] = body.changes as [Change];
  t.match(c, { kind: 'correction', factId: FIX, type: 'FactCorrected', fact: { factId: WRONG, type: 'ChairmanshipPassed' }, reason: REASON, source });
  t.match(c.before, { chair: '01KB19R500EXAMP1E000000002', term: term(2024) }, 'the data before: 2024 (stored by id)');
  t.match(c.after, { chair: '01KB19R500EXAMP1E000000002', term: term(2025) }, 'the data after: 2025');
  t.equal(c.data?.['reason'], REASON, 'the correction as recorded');
  t.ok(c.recordedAt > before && c.recordedAt <= after);
  // `after` is later than the last event applied: a fact could still be recorded at it.
  t.equal(res.headers['cache-control'], 'public, no-cache', 'a window that reaches the last event applied may still grow');
  t.match(res.headers.etag, /^W\//);
  const past = await get(a, `/v1/changes?since=${seeded}&until=${before}`);
  t.equal(past.headers['cache-control'], 'public, max-age=31536000, immutable', 'a window that ended before the last event applied is immutable');
  t.match(past.headers.etag, /^"/);
  const again = await a.app.inject({ url: `/v1/changes?since=${seeded}&until=${before}`, headers: { 'if-none-match': past.headers.etag as string } });
  t.equal(again.statusCode, 304);

  // The same window seen through the organization it is about, and not through another.
  t.equal((((await get(a, `/v1/changes?since=${before}&until=${after}&organization=csto`)).json()) as Answer).changes.length, 1, 'about csto');
  t.equal((((await get(a, `/v1/changes?since=${before}&until=${after}&organization=kg`)).json()) as Answer).changes.length, 1, 'about kg (the chair it names)');
  t.equal((((await get(a, `/v1/changes?since=${before}&until=${after}&organization=cis`)).json()) as Answer).changes.length, 0, 'not about cis');

  // Before the correction: the mistake itself, recorded.
  const mistake = (await get(a, `/v1/changes?since=${seeded}&until=${before}`)).json() as Answer;
  t.ok(mistake.changes.some((c) => c.factId === WRONG && c.kind === 'recorded' && (c.data?.['term'] as { from: string }).from === '2024-01-01'));
});

t.test('paging over the whole record: each change once, in order, like one page', async (t) => {
  const { a, seeded, after } = await worked(t);
  // Many more changes: 130 people in one batch.
  const people = Array.from({ length: 130 }, (_, i) => ({ type: 'PersonRegistered', data: { name: `Person ${i}` }, source: { title: 'paging test' } }));
  const batch = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: people });
  t.ok([200, 201].includes(batch.statusCode), batch.body.slice(0, 200));
  const url = `/v1/changes?since=${seeded}`;
  const whole = (await get(a, `${url}&limit=500`)).json() as Answer;
  t.equal(whole.nextCursor, null);
  const facts = whole.changes.length;
  t.ok(facts > 150, `${facts} facts in the record`);
  const paged = await follow(t, a, `${url}&limit=7`);
  t.ok(paged.pages >= Math.ceil(facts / 7));
  t.same(paged.items.map((c) => c.factId), whole.changes.map((c) => c.factId), 'each once, in the same order');
  t.equal(new Set(paged.items.map((c) => c.factId)).size, facts);
  const keys = paged.items.map((c) => `${c.recordedAt} ${c.position}`);
  t.same(keys, [...keys].sort(), 'ordered by recordedAt, then position');
  t.equal(paged.items.filter((c) => c.kind === 'correction').length, 1);
  const defaultPage = (await get(a, url)).json() as Answer;
  t.equal(defaultPage.changes.length, 50, 'default limit 50');
  t.ok(defaultPage.until > after, 'an omitted until is now');

  // organization=: over many pages too, each once, and only facts about it.
  const cis = await follow(t, a, `${url}&organization=cis&limit=2`);
  const expected = whole.changes.filter((c) => JSON.stringify(c).includes('01KB19R500EXAMP1E000000004') || ['cis', 'cis-executive-committee', 'cis-first-deputy-secretary-general'].includes(c.data?.['key'] as string));
  t.ok(expected.length >= 3, `${expected.length} facts about cis`);
  t.same(cis.items.map((c) => c.factId), expected.map((c) => c.factId), 'the facts that name cis, its body or its office, or register them');
  t.notOk(cis.items.some((c) => c.type === 'PersonRegistered' && (c.data?.['name'] as string).startsWith('Person ')));
  const unknown = await get(a, `${url}&organization=nowhere`);
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8');

  // A cursor is bound to its window and filters.
  const first = (await get(a, `${url}&limit=2`)).json() as Answer;
  const foreign = await get(a, `/v1/changes?since=${after}&cursor=${encodeURIComponent(first.nextCursor as string)}`);
  t.equal(foreign.statusCode, 400);
  t.match(foreign.json(), { errors: [{ path: 'cursor' }] });
});

t.test('an empty window, and bad or reversed moments', async (t) => {
  const { a, before, after } = await worked(t);
  const doc = (await get(a, '/openapi.json')).json() as { paths: Record<string, { get: { parameters: { name: string; required?: boolean }[]; description: string } }> };
  const op = doc.paths['/v1/changes']?.get;
  t.match(op?.parameters.find((p) => p.name === 'since'), { required: true }, 'OpenAPI documents /v1/changes');
  t.ok(['until', 'organization', 'cursor', 'limit'].every((n) => op?.parameters.some((p) => p.name === n)));
  t.match(op?.description, 'default 50, at most 500');
  const empty = await get(a, `/v1/changes?since=${before}&until=${before}`);
  t.equal(empty.statusCode, 200);
  t.same((empty.json() as Answer).changes, []);
  t.equal((empty.json() as Answer).nextCursor, null);
  t.notOk(empty.headers.link);
  const future = (await get(a, `/v1/changes?since=${after}`)).json() as Answer;
  t.same(future.changes, [], 'nothing recorded after the last moment');
  t.equal((await get(a, `/v1/changes?since=2025-11-27T15:00:00%2B03:00&until=${after}`)).json().since, '2025-11-27T12:00:00.000Z', 'offsets are normalised to UTC');

  for (const [url, path] of [
    ['/v1/changes', 'since'],
    ['/v1/changes?since=yesterday', 'since'],
    ['/v1/changes?since=2025-02-30T00:00:00Z', 'since'],
    [`/v1/changes?since=${before}&until=2025-13-01T00:00:00Z`, 'until'],
    [`/v1/changes?since=${after}&until=${before}`, 'until'],
    ['/v1/changes?since=2999-01-01T00:00:00.000Z', 'since'],
    [`/v1/changes?since=${before}&limit=0`, 'limit'],
  ] as const) {
    const res = await get(a, url);
    t.equal(res.statusCode, 400, url);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', url);
    t.match(res.json(), { status: 400, errors: [{ path }] }, `${url} names ${path}`);
  }
});

t.test('a retraction in the window: listed as a retraction, with its reason and the data it withdrew', async (t) => {
  const { a, clock, after } = await worked(t);
  const ghost = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'MembershipStarted', data: { organization: 'csto', member: 'kg', on: '2031-01-01' }, source } });
  t.equal(ghost.statusCode, 201, ghost.body);
  const ghostId = ghost.json().factId as string;
  const recorded = clock.advance();
  clock.advance();
  const reason = 'no source says the Kyrgyz Republic joined again in 2031';
  const retraction = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'FactRetracted', data: { fact: ghostId, reason }, source } });
  t.equal(retraction.statusCode, 201, retraction.body);
  const done = clock.advance();
  clock.advance();

  const body = (await get(a, `/v1/changes?since=${recorded}&until=${done}`)).json() as Answer;
  t.equal(body.changes.length, 1, 'the window holds the retraction alone');
  const [c] = body.changes as [Change];
  t.match(c, { kind: 'retraction', type: 'FactRetracted', factId: retraction.json().factId, fact: { factId: ghostId, type: 'MembershipStarted' }, reason, after: null, source });
  t.match(c.before, { member: '01KB19R500EXAMP1E000000002', on: '2031-01-01' }, 'the data it withdrew');
  t.equal(c.data?.['reason'], reason, 'the retraction as recorded');
  // Through the organization the withdrawn fact was about (judged on the data it withdrew), and not another.
  t.equal(((await get(a, `/v1/changes?since=${recorded}&until=${done}&organization=kg`)).json() as Answer).changes.length, 1, 'about kg');
  t.equal(((await get(a, `/v1/changes?since=${recorded}&until=${done}&organization=cis`)).json() as Answer).changes.length, 0, 'not about cis');
  // Across both: the fact recorded, then its retraction, in order.
  const both = (await get(a, `/v1/changes?since=${after}&until=${done}`)).json() as Answer;
  t.same(both.changes.map((x) => [x.kind, x.factId]), [['recorded', ghostId], ['retraction', retraction.json().factId]]);
});

t.test('organization= over a window larger than the scan bound: short pages go on, exactly the facts about it', async (t) => {
  const { a, after } = await worked(t);
  const record = async (bodies: object[]): Promise<string[]> => {
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: bodies });
    const answer = res.json() as { results: { factId: string }[]; error?: unknown };
    t.ok(res.statusCode === 200 && !answer.error && answer.results.length === bodies.length, res.body.slice(0, 300));
    return answer.results.map((r) => r.factId);
  };
  const people = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ type: 'PersonRegistered', data: { name: `Bound ${from + i}` }, source }));
  const offices = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ type: 'OfficeEstablished', data: { key: `bound-office-${from + i}`, organization: 'cis', title: `Office ${from + i}` }, source }));
  // About cis: 3 offices, then more than two bounds of people, 2 offices, a bound and a half of people, 1 office.
  const about: string[] = [];
  about.push(...(await record(offices(3, 0))));
  for (let i = 0; i < 2 * SCAN_BOUND + 500; i += 1000) await record(people(Math.min(1000, 2 * SCAN_BOUND + 500 - i), i));
  about.push(...(await record(offices(2, 3))));
  for (let i = 0; i < SCAN_BOUND + SCAN_BOUND / 2; i += 1000) await record(people(Math.min(1000, SCAN_BOUND + SCAN_BOUND / 2 - i), 100_000 + i));
  about.push(...(await record(offices(1, 5))));
  t.equal(about.length, 6, 'the offices recorded');

  const url = `/v1/changes?since=${after}&organization=cis&limit=2`;
  const pages: Answer[] = [];
  for (let cursor: string | null = null; ; ) {
    const res = await get(a, cursor === null ? url : `${url}&cursor=${encodeURIComponent(cursor)}`);
    t.equal(res.statusCode, 200);
    const page = res.json() as Answer;
    pages.push(page);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
    if (pages.length > 50) throw new Error('paging does not end');
  }
  const got = pages.flatMap((p) => p.changes.map((c) => c.factId));
  t.same(got, about, 'exactly the facts about cis, in order: none missed, none repeated');
  t.ok(pages.some((p) => p.changes.length === 0 && p.nextCursor !== null), 'a page that scanned its bound without finding any still goes on');
  t.ok(pages.some((p) => p.changes.length === 1 && p.nextCursor !== null), 'a page that scanned its bound part-filled goes on');
  t.ok(pages.length >= 5, `${pages.length} pages for ${SCAN_BOUND * 3.5 + 6} facts, at most ${SCAN_BOUND} scanned a page`);
  t.comment(`page sizes: ${pages.map((p) => p.changes.length).join(' ')}`);
});
