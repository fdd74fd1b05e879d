/**
 * Read-your-writes when the store's clock runs ahead of the reader's (a leader's clock on
 * EventStoreDB, or this process's clock stepped back under the embedded store, which keeps
 * recording times from going back): an omitted knownAt is now, or the recordedAt of the last
 * event the read models applied, whichever is later (reads-common.ts currentKnownAt). Through
 * the real app on a real SQLite file: a point question, a list, a cursor's pinned knownAt,
 * the explorer; and with a sane clock, now as ever.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { startTestApp } from './fixtures/app.js';

const EXAMPLE = readFileSync(new URL('../src/example/csto-2025-11-27.ndjson', import.meta.url), 'utf8');
const HOUR = 3_600_000;
const source = { title: 'test' };

async function recorded(t: Test, clock?: () => Date, store?: 'memory') {
  const a = await startTestApp(t, { ...(clock ? { clock } : {}), ...(store ? { store } : {}) });
  const { app, auth } = a;
  const batch = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: EXAMPLE });
  t.equal(batch.statusCode < 300, true, batch.body.slice(0, 300));
  const post = async (payload: object) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload });
    t.equal(r.statusCode, 201, r.body.slice(0, 400));
    return r.json() as { factId: string; position: string; recordedAt: string };
  };
  await post({ type: 'OfficeEstablished', data: { key: 'sg', organization: 'csto', title: 'A new office' }, source });
  const appointed = await post({ type: 'OfficialAppointed', data: { office: 'sg', person: 'taalatbek-masadykov', term: { from: '2021-01-01', to: '2021-12-31' } }, source });
  return { ...a, appointed };
}

t.test('a store clock an hour ahead: a write is read back at once', async (t) => {
  const { app, appointed } = await recorded(t, () => new Date(Date.now() + HOUR));
  t.ok(appointed.recordedAt > new Date().toISOString(), 'recorded ahead of the reader’s clock');

  // The reviewer's question: the point route, with and without the write's position.
  for (const q of [`&minPosition=${appointed.position}`, '']) {
    const r = await app.inject({ url: `/v1/offices/sg/holder?validAt=2021${q}` });
    t.equal(r.statusCode, 200, r.body.slice(0, 300));
    const body = r.json() as { knownAt: string; holders: { person: { key: string } }[] };
    t.equal(body.knownAt, appointed.recordedAt, 'the echoed knownAt is the last recordedAt applied');
    t.same(body.holders.map((h) => h.person.key), ['taalatbek-masadykov']);
    t.equal(r.headers['cache-control'], 'public, no-cache', 'a current read');
  }
  const office = await app.inject({ url: `/v1/offices/sg?validAt=2021&minPosition=${appointed.position}` });
  t.equal(office.statusCode, 200, office.body.slice(0, 300));
  t.equal((office.json() as { knownAt: string }).knownAt, appointed.recordedAt);
  const chair = await app.inject({ url: '/v1/organizations/csto/chair?validAt=2026' });
  t.equal((chair.json() as { knownAt: string }).knownAt, appointed.recordedAt, 'the chair likewise');

  // A list, and its cursor: the first page's knownAt (the applied recordedAt) is pinned.
  const offices = await app.inject({ url: `/v1/offices?organization=csto&limit=1&minPosition=${appointed.position}` });
  t.equal(offices.statusCode, 200, offices.body.slice(0, 300));
  const first = offices.json() as { knownAt: string; nextCursor: string | null; offices: { key: string }[] };
  t.equal(first.knownAt, appointed.recordedAt);
  const keys = first.offices.map((o) => o.key);
  let cursor = first.nextCursor;
  while (cursor !== null) {
    const next = await app.inject({ url: `/v1/offices?organization=csto&limit=1&cursor=${encodeURIComponent(cursor)}` });
    t.equal(next.statusCode, 200, next.body.slice(0, 300));
    const page = next.json() as { knownAt: string; nextCursor: string | null; offices: { key: string }[] };
    t.equal(page.knownAt, appointed.recordedAt, 'the cursor pinned the first page’s knownAt');
    keys.push(...page.offices.map((o) => o.key));
    cursor = page.nextCursor;
  }
  t.ok(keys.includes('sg'), 'the office just written is on the list');
  const holders = await app.inject({ url: '/v1/offices/sg/holders' });
  t.same((holders.json() as { holders: unknown[] }).holders.length, 1, 'the succession too');

  // /v1/changes' omitted until likewise.
  const changes = await app.inject({ url: '/v1/changes?since=2000-01-01T00:00:00Z&limit=500' });
  t.equal(changes.statusCode, 200, changes.body.slice(0, 300));
  const window = changes.json() as { until: string; changes: { factId: string }[] };
  t.equal(window.until, appointed.recordedAt);
  t.ok(window.changes.some((c) => c.factId === appointed.factId), 'the write is in the window');

  // An explicit knownAt is as given; earlier than the applied recordedAt it is immutable, as ever.
  const before = new Date(Date.parse(appointed.recordedAt) - 1).toISOString();
  const past = await app.inject({ url: `/v1/offices/sg/holder?validAt=2021&knownAt=${before}` });
  t.equal((past.json() as { knownAt: string }).knownAt, before);
  t.match(past.headers['cache-control'], /immutable/);

  // The explorer reads at the same moment.
  const page = await app.inject({ url: '/offices/sg?validAt=2021' });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Taalatbek Masadykov/, 'the explorer shows the holder just written');
});

t.test('a log the runner follows (the in-memory store, as EventStoreDB is followed) stamped an hour ahead', async (t) => {
  const { app, appointed } = await recorded(t, () => new Date(Date.now() + HOUR), 'memory');
  const r = await app.inject({ url: `/v1/offices/sg/holder?validAt=2021&minPosition=${appointed.position}` });
  t.equal(r.statusCode, 200, r.body.slice(0, 300));
  t.equal((r.json() as { knownAt: string }).knownAt, appointed.recordedAt);
  const people = await app.inject({ url: '/v1/people?limit=2' });
  t.equal((people.json() as { knownAt: string }).knownAt, appointed.recordedAt, 'a list');
});

t.test('a sane clock: an omitted knownAt is now', async (t) => {
  const { app, appointed } = await recorded(t);
  const asked = new Date().toISOString();
  const r = await app.inject({ url: `/v1/offices/sg/holder?validAt=2021&minPosition=${appointed.position}` });
  const body = r.json() as { knownAt: string; holders: unknown[] };
  t.ok(body.knownAt >= asked && body.knownAt <= new Date().toISOString(), 'now, the moment of the request');
  t.ok(body.knownAt >= appointed.recordedAt);
  t.equal(body.holders.length, 1);
  const list = await app.inject({ url: '/v1/offices?organization=csto&limit=1' });
  const first = list.json() as { knownAt: string };
  t.ok(first.knownAt >= asked && first.knownAt <= new Date().toISOString(), 'a list’s too');
});
